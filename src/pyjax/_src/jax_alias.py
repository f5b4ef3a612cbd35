"""``import jax`` resolved to pyjax: a meta-path finder that answers ``jax`` with a facade
of the module ``pyjax`` and every ``jax.X`` with ``pyjax.X``, so an unmodified JAX program
runs on pyjax (``pyjax.install_as_jax()``, ``python -m pyjax.run script.py``).

``jax._src.X``, JAX's internals that some libraries import, come from ``pyjax._jax_src.X``,
a package of compatibility modules, never from pyjax's own ``pyjax._src``. The facade is
why: ``jax._src.X.name`` reads ``jax``'s attribute ``_src``, which the import system sets
on the module ``jax``; were that module ``pyjax`` itself, ``pyjax._src`` would become the
compatibility package. The facade holds ``_src`` and forwards every other attribute, read
or written, to ``pyjax``.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types

_PREFIX = "jax"
_COMPAT = "pyjax._jax_src"


def _target(fullname: str) -> str | None:
    if fullname == _PREFIX + "._src" or fullname.startswith(_PREFIX + "._src."):
        return _COMPAT + fullname[len(_PREFIX + "._src"):]
    if fullname == _PREFIX or fullname.startswith(_PREFIX + "."):
        return "py" + fullname
    return None


class JaxFacade(types.ModuleType):
    """The module ``jax``: ``pyjax``'s attributes, except ``_src`` (the compatibility
    package) and the module's own identity (name, spec, loader)."""

    _OWN = frozenset({"_src", "__name__", "__spec__", "__loader__", "__package__", "__file__",
                      "__path__", "__cached__", "__builtins__", "__doc__"})

    def __init__(self, target):
        super().__init__(_PREFIX, target.__doc__)
        object.__setattr__(self, "_target_module", target)
        self.__path__ = list(target.__path__)
        self.__file__ = target.__file__
        self._src = importlib.import_module(_COMPAT)

    def __getattr__(self, name):
        return getattr(object.__getattribute__(self, "_target_module"), name)

    def __setattr__(self, name, value):
        if name in self._OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(self._target_module, name, value)

    def __delattr__(self, name):
        delattr(self._target_module, name)

    def __dir__(self):
        return sorted(set(dir(self._target_module)) | {"_src"})


class _AliasLoader(importlib.abc.Loader):
    """Loads ``jax.X`` as the already importable module object itself (``jax``: its facade)."""

    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        if spec.name == _PREFIX:
            return JaxFacade(module)
        self.spec = module.__spec__
        return module

    def exec_module(self, module):
        if isinstance(module, JaxFacade):
            return
        module.__spec__ = self.spec  # (the import system set the alias's spec on it)


class JaxAliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``jax`` and its submodules as pyjax's (ModuleNotFoundError naming both
    where pyjax has no such module)."""

    def find_spec(self, fullname, path=None, target=None):
        name = _target(fullname)
        if name is None:
            return None
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"No module named {name!r}: pyjax has no counterpart "
                                      f"of {fullname!r} (imported as jax through pyjax)",
                                      name=fullname)
        return importlib.util.spec_from_loader(fullname, _AliasLoader(name))


def install_as_jax() -> None:
    """Make ``import jax`` (and every ``jax.*`` submodule) import pyjax from now on.
    Call it before anything imports the real ``jax``; RuntimeError if something has."""
    if any(isinstance(f, JaxAliasFinder) for f in sys.meta_path):
        return
    loaded = sorted(m for m in sys.modules if _target(m) and
                    not isinstance(sys.modules[m], JaxFacade) and
                    not getattr(sys.modules[m], "__name__", "").startswith("pyjax"))
    if loaded:
        raise RuntimeError(f"install_as_jax: the real jax is imported already ({loaded[0]}); "
                           "call it before the first `import jax`")
    sys.meta_path.insert(0, JaxAliasFinder())
