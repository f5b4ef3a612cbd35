"""``import jax`` resolved to pyjax: a meta-path finder that answers every ``jax`` and
``jax.X`` import with the module ``pyjax`` and ``pyjax.X``, so an unmodified JAX program
runs on pyjax (``pyjax.install_as_jax()``, ``python -m pyjax.run script.py``)."""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

_PREFIX = "jax"


def _target(fullname: str) -> str | None:
    if fullname == _PREFIX or fullname.startswith(_PREFIX + "."):
        return "py" + fullname
    return None


class _AliasLoader(importlib.abc.Loader):
    """Loads ``jax.X`` as the already importable ``pyjax.X`` module object itself."""

    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self.spec = module.__spec__
        return module

    def exec_module(self, module):
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
                    not getattr(sys.modules[m], "__name__", "").startswith("pyjax"))
    if loaded:
        raise RuntimeError(f"install_as_jax: the real jax is imported already ({loaded[0]}); "
                           "call it before the first `import jax`")
    sys.meta_path.insert(0, JaxAliasFinder())
