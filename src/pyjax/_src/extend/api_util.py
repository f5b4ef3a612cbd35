"""``jax.api_util``: flattening a wrapped function's inputs and outputs, and the debug
information a traced function carries, as libraries that write their own transformations
use them."""
from __future__ import annotations

from pyjax._src import tree_util
from pyjax._src.transforms.staging import DebugInfo, flat_arg_names


def debug_info(traced_for: str, fun, args, kwargs, *, static_argnums=(), static_argnames=(),
               result_paths_thunk=None, sourceinfo=None, signature=None) -> DebugInfo:
    """Where ``fun`` comes from and a name per flat argument, for error messages."""
    static = lambda i, name: i in tuple(static_argnums) or name in tuple(static_argnames)
    names = flat_arg_names(fun, args, kwargs, tree_util.tree_flatten, static)
    return DebugInfo.of(fun, traced_for, names)


class _OutTree:
    """The output tree a flattened function records when it runs (``out_tree()``)."""

    def __init__(self, name: str):
        self._name, self._tree = name, None

    def store(self, tree) -> None:
        self._tree = tree

    def __call__(self):
        if self._tree is None:
            raise ValueError(f"the output tree of {self._name} is not known before it runs")
        return self._tree


def _flatten_outputs(f, unflatten_args):
    out_tree = _OutTree(f.__name__)

    def flat(*args_flat):
        args, kwargs = unflatten_args(args_flat)
        outs_flat, tree = tree_util.tree_flatten(f.call_wrapped(*args, **kwargs))
        out_tree.store(tree)
        return outs_flat

    flat.__name__ = f.__name__
    return type(f)(flat, debug_info=f.debug_info), out_tree  # (a linear_util.WrappedFun)


def flatten_fun(f, in_tree):
    """``f`` taking the leaves of ``(args, kwargs)`` and returning its outputs' leaves,
    and a thunk giving the output tree once it has run."""
    return _flatten_outputs(f, lambda flat: tree_util.tree_unflatten(in_tree, flat))


def flatten_fun_nokwargs(f, in_tree):
    """As ``flatten_fun`` for an ``in_tree`` of the positional arguments alone."""
    return _flatten_outputs(f, lambda flat: (tree_util.tree_unflatten(in_tree, flat), {}))
