"""Pytrees: nested containers flattened to a list of leaves plus a hashable structure.

Transformations only ever see flat lists of leaves; the ``PyTreeDef`` carries the
container structure (and static aux data) so results can be rebuilt, and doubles
as a jit cache key.  Semantics follow ``jax.tree_util``.

A treedef node is the nested tuple ``(node_type, aux_data, children)``; a leaf is
``None``.  Nested tuples give C-speed ``==`` and ``hash`` without a Python walk.
"""
from __future__ import annotations

import collections
import dataclasses
import difflib
import functools
import itertools
import operator
import types
from typing import Any, TypeVar

KeyEntry = TypeVar("KeyEntry", bound=Any)
KeyPath = tuple[KeyEntry, ...]  # the keys from a tree's root down to one of its leaves


class _NodeType:
    """How to take one container type apart and put it back together.

    Compared and hashed by identity, which keeps treedef ``==``/``hash`` cheap.
    """

    __slots__ = ("type", "flatten", "unflatten", "flatten_with_keys")

    def __init__(self, type_, flatten, unflatten, flatten_with_keys):
        self.type = type_
        self.flatten = flatten  # x -> (children, aux)
        self.unflatten = unflatten  # (aux, children list) -> x
        self.flatten_with_keys = flatten_with_keys  # x -> ([(key, child), ...], aux)


@dataclasses.dataclass(frozen=True)
class SequenceKey:
    idx: int

    def __str__(self):
        return f"[{self.idx!r}]"


@dataclasses.dataclass(frozen=True)
class DictKey:
    key: Any

    def __str__(self):
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    name: str

    def __str__(self):
        return f".{self.name}"


@dataclasses.dataclass(frozen=True)
class FlattenedIndexKey:
    """Key of a child of a node registered without key information."""

    key: int

    def __str__(self):
        return f"[<flat index {self.key}>]"


_KEY_TYPES = (SequenceKey, DictKey, GetAttrKey, FlattenedIndexKey)


def keystr(keys, *, simple: bool = False, separator: str = "") -> str:
    """Render a key path, e.g. ``['a'][0].x`` (or ``a/0/x`` with simple=True, separator='/')."""
    if simple:
        return separator.join(str(getattr(k, k.__match_args__[0])) if isinstance(k, _KEY_TYPES)
                              else str(k) for k in keys)
    return separator.join(map(str, keys))


_registry: dict[type, _NodeType] = {}
NODE_TYPES = types.MappingProxyType(_registry)  # (read-only: type -> how it flattens)
# The registry the public functions use: ``_registry`` less the array nodes (see the
# end of this module).
_user_registry: dict[type, _NodeType] = {}


def _keyed(flatten, keys):
    """Key flattener from a plain flattener and ``keys(x, aux) -> iterable of keys``."""
    def flatten_with_keys(x):
        children, aux = flatten(x)
        return list(zip(keys(x, aux), children)), aux
    return flatten_with_keys


def _index_keys(x, aux):
    return map(FlattenedIndexKey, itertools.count())


def _register(nodetype, flatten, unflatten, flatten_with_keys):
    if nodetype in _registry:
        raise ValueError(f"Duplicate custom PyTreeDef type registration for {nodetype}.")
    _registry[nodetype] = _user_registry[nodetype] = _NodeType(nodetype, flatten, unflatten,
                                                               flatten_with_keys)
    return _registry[nodetype]


def register_array_node(nodetype, flatten_func, unflatten_func):
    """Make ``nodetype`` (an array type holding a plain array, as typed key arrays do) a
    node to pyjax's transformations, which then trace the array it holds, and a leaf to
    the public pytree functions, as JAX's extended-dtype arrays are."""
    register_pytree_node(nodetype, flatten_func, unflatten_func)
    del _user_registry[nodetype]


def register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys_func=None):
    """Make ``nodetype`` a container: ``flatten_func(x) -> (children, aux)``,
    ``unflatten_func(aux, children) -> x``; children are passed as a tuple, as in JAX."""
    _register(nodetype, flatten_func, lambda aux, children: unflatten_func(aux, tuple(children)),
              flatten_with_keys_func or _keyed(flatten_func, _index_keys))


def register_pytree_with_keys(nodetype, flatten_with_keys, unflatten_func, flatten_func=None):
    """Like ``register_pytree_node`` but children carry keys for ``tree_flatten_with_path``."""
    if flatten_func is None:
        def flatten_func(x):
            pairs, aux = flatten_with_keys(x)
            return [c for _, c in pairs], aux
    register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys)


def register_pytree_with_keys_class(cls):
    """Class decorator using ``tree_flatten_with_keys`` (and ``tree_flatten`` when the class
    has it) and the ``tree_unflatten`` classmethod."""
    flatten = operator.methodcaller("tree_flatten") if hasattr(cls, "tree_flatten") else None
    register_pytree_with_keys(cls, operator.methodcaller("tree_flatten_with_keys"),
                              cls.tree_unflatten, flatten)
    return cls


def register_static(cls):
    """Make instances of ``cls`` (hashable) leafless nodes: the whole object is aux data,
    so ``jit`` treats it as static without ``static_argnums``."""
    register_pytree_with_keys(cls, lambda x: ((), x), lambda x, children: x)
    return cls


def static(**kwargs):
    """``dataclasses.field(**kwargs)`` marked ``static`` for ``register_dataclass``."""
    metadata = {"static": True, **(kwargs.pop("metadata", None) or {})}
    return dataclasses.field(metadata=metadata, **kwargs)


def register_pytree_node_class(cls):
    """Class decorator using the class's ``tree_flatten`` method and ``tree_unflatten`` classmethod."""
    register_pytree_node(cls, operator.methodcaller("tree_flatten"), cls.tree_unflatten)
    return cls


def register_dataclass(nodetype, data_fields=None, meta_fields=None, drop_fields=()):
    """Register a dataclass-like type: data fields are children, meta fields are static aux data.

    With no fields given, ``nodetype`` must be a dataclass and fields with
    ``metadata=dict(static=True)`` are meta fields.
    """
    if data_fields is None or meta_fields is None:
        if (data_fields is None) != (meta_fields is None):
            raise TypeError("register_dataclass: data_fields and meta_fields must both be specified"
                            f" when either is specified. Got {data_fields=} {meta_fields=}.")
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError("register_dataclass: data_fields and meta_fields are required when"
                            f" nodetype is not a dataclass. Got {nodetype=}.")
        fields = dataclasses.fields(nodetype)
        data_fields = [f.name for f in fields if not f.metadata.get("static", False)]
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields)
    if dataclasses.is_dataclass(nodetype):
        init_fields = {f.name for f in dataclasses.fields(nodetype) if f.init} - set(drop_fields)
        if {*meta_fields, *data_fields} != init_fields:
            missing = init_fields - {*meta_fields, *data_fields}
            unexpected = {*meta_fields, *data_fields} - init_fields
            raise ValueError("data_fields and meta_fields must include all dataclass fields with"
                             f" ``init=True`` and only them. Missing fields: {sorted(missing)};"
                             f" unexpected fields: {sorted(unexpected)}.")
    if overlap := set(data_fields) & set(meta_fields):
        raise ValueError(f"data_fields and meta_fields must not overlap. Overlapping fields: {overlap}.")

    def flatten(x):
        return [getattr(x, n) for n in data_fields], tuple(getattr(x, n) for n in meta_fields)

    def unflatten(meta, data):
        return nodetype(**dict(zip(meta_fields, meta)), **dict(zip(data_fields, data)))

    _register(nodetype, flatten, unflatten, _keyed(flatten, lambda x, aux: map(GetAttrKey, data_fields)))
    return nodetype


def _seq_flatten(x):
    return x, None


def _dict_flatten(x):
    """Dict children are ordered by sorted key so equal dicts flatten identically, as in JAX."""
    try:
        keys = tuple(sorted(x))
    except TypeError as e:
        raise ValueError(f"pytree dict keys must be sortable, got {list(x)}") from e
    return [x[k] for k in keys], keys


def _defaultdict_flatten(x):
    children, keys = _dict_flatten(x)
    return children, (x.default_factory, keys)


_seq_keys = _keyed(_seq_flatten, lambda x, aux: map(SequenceKey, itertools.count()))
_TUPLE = _register(tuple, _seq_flatten, lambda aux, ch: tuple(ch), _seq_keys)
_LIST = _register(list, _seq_flatten, lambda aux, ch: ch, _seq_keys)
_NONE = _register(type(None), lambda x: ((), None), lambda aux, ch: None, lambda x: ([], None))
_DICT = _register(dict, _dict_flatten, lambda keys, ch: dict(zip(keys, ch)),
                  _keyed(_dict_flatten, lambda x, keys: map(DictKey, keys)))
_register(collections.OrderedDict, lambda x: (list(x.values()), tuple(x)),
          lambda keys, ch: collections.OrderedDict(zip(keys, ch)),
          lambda x: ([(DictKey(k), v) for k, v in x.items()], tuple(x)))
_register(collections.defaultdict, _defaultdict_flatten,
          lambda aux, ch: collections.defaultdict(aux[0], zip(aux[1], ch)),
          _keyed(_defaultdict_flatten, lambda x, aux: map(DictKey, aux[1])))
# Every namedtuple class shares one node type; the class itself is the aux data.
_NAMEDTUPLE = _NodeType(tuple, lambda x: (x, type(x)), lambda cls, ch: cls(*ch),
                        lambda x: (list(zip(map(GetAttrKey, x._fields), x)), type(x)))


def _node_type(x):
    """The node type of ``x``, or None when ``x`` is a leaf (exact type match, as in JAX)."""
    node_type = _registry.get(type(x))
    if node_type is None and isinstance(x, tuple) and hasattr(x, "_fields"):
        return _NAMEDTUPLE
    return node_type


def _flatten(x, leaves, is_leaf):
    if (is_leaf is not None and is_leaf(x)) or (node_type := _node_type(x)) is None:
        leaves.append(x)
        return None
    children, aux = node_type.flatten(x)
    return node_type, aux, tuple([_flatten(c, leaves, is_leaf) for c in children])


def _flatten_with_path(x, path, leaves, is_leaf):
    """``is_leaf(path, x)`` here: callers wrap a predicate that takes only ``x``."""
    if (is_leaf is not None and is_leaf(path, x)) or (node_type := _node_type(x)) is None:
        leaves.append((path, x))
        return None
    pairs, aux = node_type.flatten_with_keys(x)
    return node_type, aux, tuple([_flatten_with_path(c, (*path, k), leaves, is_leaf) for k, c in pairs])


def _unflatten(node, leaves):
    if node is None:
        return next(leaves)
    node_type, aux, children = node
    return node_type.unflatten(aux, [_unflatten(c, leaves) for c in children])


def _count(node, leaf_weight, node_weight):
    if node is None:
        return leaf_weight
    return node_weight + sum(_count(c, leaf_weight, node_weight) for c in node[2])


class _Mismatch(Exception):
    """Structure mismatch inside ``_flatten_up_to``; collects the key path while unwinding."""

    def __init__(self, msg):
        super().__init__(msg)
        self.path = []


def _describe(node_type, aux):
    if node_type is _NONE:
        return "None"
    return f"namedtuple {aux.__name__}" if node_type is _NAMEDTUPLE else node_type.type.__name__


def _flatten_up_to(node, x, out):
    if node is None:
        out.append(x)
        return
    node_type, aux, children = node
    if _node_type(x) is not node_type:
        hint = " (None is an empty pytree node, not a leaf)" if node_type is _NONE else ""
        raise _Mismatch(f"expected {_describe(node_type, aux)}, got {x!r}{hint}")
    xs, x_aux = node_type.flatten(x)
    xs = list(xs)
    if x_aux != aux:
        what = "keys" if node_type is _DICT else "node data"
        raise _Mismatch(f"expected {_describe(node_type, aux)} with {what} {aux!r}, got {x_aux!r}")
    if len(xs) != len(children):
        raise _Mismatch(f"expected {_describe(node_type, aux)} of length {len(children)}, "
                        f"got length {len(xs)}: {x!r}")
    for i, (child, x_child) in enumerate(zip(children, xs)):
        try:
            _flatten_up_to(child, x_child, out)
        except _Mismatch as e:
            e.path.append(node_type.flatten_with_keys(x)[0][i][0])
            raise


def _repr(node):
    if node is None:
        return "*"
    node_type, aux, children = node
    parts = [_repr(c) for c in children]
    if node_type is _TUPLE:
        return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"
    if node_type is _LIST:
        return f"[{', '.join(parts)}]"
    if node_type is _DICT:
        return "{" + ", ".join(f"{k!r}: {p}" for k, p in zip(aux, parts)) + "}"
    if node_type is _NONE:
        return "None"
    name = f"namedtuple[{aux.__name__}]" if node_type is _NAMEDTUPLE else f"{node_type.type.__name__}[{aux}]"
    return f"CustomNode({name}, [{', '.join(parts)}])"


class PyTreeDef:
    """The structure of a pytree: node types and aux data, with leaves left out."""

    __slots__ = ("_node", "_num_leaves", "_hash")

    def __init__(self, node, num_leaves=None):
        self._node = node
        self._num_leaves = num_leaves
        self._hash = None

    @property
    def num_leaves(self) -> int:
        if self._num_leaves is None:
            self._num_leaves = _count(self._node, 1, 0)
        return self._num_leaves

    @property
    def num_nodes(self) -> int:
        return _count(self._node, 1, 1)

    def unflatten(self, leaves):
        leaves = leaves if isinstance(leaves, (list, tuple)) else list(leaves)
        if len(leaves) != self.num_leaves:
            which = "few" if len(leaves) < self.num_leaves else "many"
            raise ValueError(f"Too {which} leaves for PyTreeDef; expected {self.num_leaves}, "
                             f"got {len(leaves)}.")
        return _unflatten(self._node, iter(leaves))

    def flatten_up_to(self, tree) -> list:
        """Leaves of ``tree`` cut at this structure: each leaf here matches a whole subtree."""
        return _flatten_up_to_checked(self._node, tree, "pytree structure mismatch")

    def children(self) -> list[PyTreeDef]:
        return [] if self._node is None else [PyTreeDef(c) for c in self._node[2]]

    def node_data(self):
        """``(type, aux data)`` of the root node, None for a leaf (a dict's keys as a list)."""
        if self._node is None:
            return None
        node_type, aux, _ = self._node
        if node_type is _NAMEDTUPLE:
            return aux, None
        return node_type.type, list(aux) if node_type is _DICT else aux

    @staticmethod
    def from_node_data_and_children(registry, node_data, children) -> PyTreeDef:
        """The inverse of ``node_data()`` and ``children()`` (``registry``: JAX's signature;
        pyjax has one registry)."""
        if node_data is None:
            return PyTreeDef(None)
        typ, aux = node_data
        node = tuple(c._node for c in children)
        if typ not in _registry and issubclass(typ, tuple) and hasattr(typ, "_fields"):
            return PyTreeDef((_NAMEDTUPLE, typ, node))
        node_type = _registry[typ]
        return PyTreeDef((node_type, tuple(aux) if node_type is _DICT else aux, node))

    def compose(self, inner: PyTreeDef) -> PyTreeDef:
        """This structure with every leaf replaced by ``inner``."""
        return PyTreeDef(_compose(self._node, inner._node))

    def walk(self, f_node, f_leaf, leaves):
        """Fold the tree bottom-up: ``f_leaf(leaf)`` at leaves (identity when None),
        ``f_node(tuple of child results, node data)`` at nodes."""
        return _walk(self, f_node, f_leaf or (lambda x: x), iter(leaves))

    def __eq__(self, other):
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        return self is other or self._node == other._node

    def __hash__(self):
        if self._hash is None:
            try:
                self._hash = hash(self._node)
            except TypeError:  # unhashable aux data: hash the structure only, as JAX always does
                self._hash = hash(_strip_aux(self._node))
        return self._hash

    def __repr__(self):
        return f"PyTreeDef({_repr(self._node)})"


def _compose(node, inner):
    return inner if node is None else (node[0], node[1], tuple(_compose(c, inner) for c in node[2]))


def _walk(treedef, f_node, f_leaf, leaves):
    if treedef._node is None:
        return f_leaf(next(leaves))
    results = tuple(_walk(c, f_node, f_leaf, leaves) for c in treedef.children())
    return f_node(results, treedef.node_data()[1])


def _strip_aux(node):
    return None if node is None else (node[0], tuple(map(_strip_aux, node[2])))


def _flatten_up_to_checked(node, tree, context):
    out = []
    try:
        _flatten_up_to(node, tree, out)
    except _Mismatch as e:
        where = f" at key path {keystr(e.path[::-1])}" if e.path else ""
        raise ValueError(f"{context}{where}: {e}") from None
    return out


def tree_flatten(tree, is_leaf=None):
    """Return ``(leaves, treedef)``; ``is_leaf(x)`` true stops descent at ``x``."""
    leaves = []
    node = _flatten(tree, leaves, is_leaf)
    return leaves, PyTreeDef(node, len(leaves))


def tree_unflatten(treedef: PyTreeDef, leaves):
    return treedef.unflatten(leaves)


def tree_leaves(tree, is_leaf=None) -> list:
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None) -> PyTreeDef:
    return tree_flatten(tree, is_leaf)[1]


def broadcast_prefix(prefix, tree, what: str) -> list:
    """One entry per leaf of ``tree``: each leaf of ``prefix`` (an axis spec whose leaves are
    ints or None) repeated over the leaves of its subtree; ``what`` ("vmap in_axes") names
    the spec in the ValueError raised when it is no tree prefix of ``tree``."""
    axes, prefix_def = tree_flatten(prefix, is_leaf=lambda x: x is None)
    try:
        subtrees = prefix_def.flatten_up_to(tree)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{what} specification must be a tree prefix of the corresponding "
                         f"value, got specification {prefix} for value tree "
                         f"{tree_structure(tree)}.") from e
    return [_data_axis(ax, leaf, data) for ax, sub in zip(axes, subtrees)
            for leaf in user.tree_leaves(sub) for data in tree_leaves(leaf)]


def _data_axis(axis, leaf, data):
    """``axis`` of an array node (a key array) as an axis of its data, which has trailing
    dims of its own: negative axes count from the node's last dim, as users see it."""
    if data is leaf or axis is None or axis >= 0:
        return axis
    return axis - (len(data.shape) - len(leaf.shape))


def prefix_errors(prefix_tree, full_tree, is_leaf=None) -> list:
    """Where ``prefix_tree`` fails to be a tree prefix of ``full_tree``: one function per
    disagreement, taking the prefix's name (as "in_axes") and giving its ValueError."""
    return list(_prefix_errors((), prefix_tree, full_tree, is_leaf))


def _prefix_errors(path, prefix, full, is_leaf):
    if (is_leaf is not None and is_leaf(prefix)) or _node_type(prefix) is None:
        return  # a leaf is a prefix of anything
    if type(prefix) is not type(full):
        yield lambda name: ValueError(
            _at("different types", name, path) + f"At that key path, the prefix pytree {name} "
            f"has a subtree of type\n    {type(prefix)}\nbut at the same key path the full "
            f"pytree has a subtree of different type\n    {type(full)}.")
        return
    (p_pairs, p_aux), (f_pairs, f_aux) = (flatten_one_level_with_keys(t) for t in (prefix, full))
    if isinstance(prefix, (list, tuple)) and len(prefix) != len(full):
        kind = type(prefix).__name__
        yield lambda name: ValueError(
            _at(f"different lengths of {kind}", name, path) + f"At that key path, the prefix "
            f"pytree {name} has a subtree of type {kind} of length {len(prefix)}, but the full "
            f"pytree has a subtree of the same type but of length {len(full)}.")
        return
    if len(p_pairs) != len(f_pairs):
        p_keys, f_keys = ([_key_name(k) for k, _ in pairs] for pairs in (p_pairs, f_pairs))
        diff = set(p_keys) ^ set(f_keys)
        yield lambda name: ValueError(
            _at("different numbers of pytree children", name, path) + f"At that key path, the "
            f"prefix pytree {name} has a subtree of type\n    {type(prefix)}\nwith "
            f"{len(p_keys)} child keys\n    {' '.join(p_keys)}\nbut at the same key path the "
            f"full pytree has a subtree of the same type but with {len(f_keys)} child keys\n"
            f"    {' '.join(f_keys)}\nso the symmetric difference on key sets is\n"
            f"    {' '.join(diff)}")
        return
    if p_aux != f_aux:
        diff = "\n".join("    " + line for line in difflib.ndiff(
            str(p_aux).splitlines(), str(f_aux).splitlines()))
        yield lambda name: ValueError(
            _at("different pytree metadata", name, path) + f"At that key path, the prefix "
            f"pytree {name} has a subtree of type\n    {type(prefix)}\nwith metadata\n    "
            f"{p_aux}\nbut at the same key path the full pytree has a subtree of the same type "
            f"but with metadata\n    {f_aux}\nso the diff in the metadata at these pytree "
            f"nodes is\n{diff}")
        return
    for (key, p_child), (_, f_child) in zip(p_pairs, f_pairs):
        yield from _prefix_errors((*path, key), p_child, f_child, is_leaf)


def _at(what: str, name: str, path) -> str:
    return f"pytree structure error: {what} at key path\n    {name}{keystr(path)}\n"


def _key_name(key) -> str:
    return str(getattr(key, key.__match_args__[0])) if isinstance(key, _KEY_TYPES) else str(key)


def tree_flatten_with_path(tree, is_leaf=None, is_leaf_takes_path: bool = False):
    """Like ``tree_flatten`` but each leaf comes as ``(key_path, leaf)``; with
    ``is_leaf_takes_path`` the predicate is called as ``is_leaf(key_path, x)``."""
    if is_leaf is not None and not is_leaf_takes_path:
        is_leaf = _ignore_path(is_leaf)
    leaves = []
    node = _flatten_with_path(tree, (), leaves, is_leaf)
    return leaves, PyTreeDef(node, len(leaves))


def _ignore_path(is_leaf):
    return lambda path, x: is_leaf(x)


def tree_leaves_with_path(tree, is_leaf=None, is_leaf_takes_path: bool = False) -> list:
    return tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)[0]


def _leaves_of_rest(treedef, rest, fn_name):
    return [_flatten_up_to_checked(treedef._node, r, f"{fn_name}: argument {i + 1} does not match "
                                                    "the structure of the first tree")
            for i, r in enumerate(rest)]


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply ``f`` leafwise; ``rest`` trees must have ``tree``'s structure (or extend it)."""
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([f(x) for x in leaves])
    others = _leaves_of_rest(treedef, rest, "tree_map")
    return treedef.unflatten([f(*xs) for xs in zip(leaves, *others)])


def tree_map_with_path(f, tree, *rest, is_leaf=None, is_leaf_takes_path: bool = False):
    """Like ``tree_map`` but ``f`` also receives each leaf's key path first."""
    keyed, treedef = tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)
    others = _leaves_of_rest(treedef, rest, "tree_map_with_path")
    return treedef.unflatten([f(path, x, *xs) for (path, x), *xs in zip(keyed, *others)])


_NO_INIT = object()


def tree_reduce(function, tree, initializer=_NO_INIT, is_leaf=None):
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INIT:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_all(tree, *, is_leaf=None) -> bool:
    return all(tree_leaves(tree, is_leaf))


def tree_transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None, pytree_to_transpose):
    """Turn an outer tree of inner trees into an inner tree of outer trees."""
    if inner_treedef is None:
        inner_treedef = tree_structure(outer_treedef.flatten_up_to(pytree_to_transpose)[0])
    leaves, treedef = tree_flatten(pytree_to_transpose)
    inner_n, outer_n = inner_treedef.num_leaves, outer_treedef.num_leaves
    if treedef.num_leaves != inner_n * outer_n:
        raise TypeError(f"tree_transpose: expected {outer_n} x {inner_n} leaves shaped by "
                        f"{outer_treedef} of {inner_treedef}, got {treedef}")
    rows = [leaves[i * inner_n:(i + 1) * inner_n] for i in range(outer_n)]
    return inner_treedef.unflatten([outer_treedef.unflatten(col) for col in zip(*rows)])


def tree_broadcast(prefix_tree, full_tree, is_leaf=None):
    """``full_tree``'s structure, each leaf taken from the ``prefix_tree`` leaf above it."""
    leaves, treedef = tree_flatten(prefix_tree, is_leaf)
    subtrees = _flatten_up_to_checked(treedef._node, full_tree,
                                      "tree_broadcast: prefix_tree is not a prefix of full_tree")
    repeated = [leaf for leaf, sub in zip(leaves, subtrees)
                for _ in range(tree_structure(sub).num_leaves)]
    return tree_structure(full_tree).unflatten(repeated)


def tree_reduce_associative(operation, tree, *, identity=_NO_INIT, is_leaf=None):
    """Reduce the leaves pairwise as a balanced tree (halves, recursively): the same
    association order as JAX, which matters for floating point."""
    leaves = tree_leaves(tree, is_leaf)
    if not leaves:
        if identity is _NO_INIT:
            raise TypeError("Must specify identity for parallel reduction of empty sequence.")
        return identity
    return _halving_reduce(leaves, operation)


def _halving_reduce(xs, operation):
    if len(xs) == 1:
        return xs[0]
    mid = len(xs) // 2
    return operation(_halving_reduce(xs[:mid], operation), _halving_reduce(xs[mid:], operation))


def treedef_children(treedef: PyTreeDef) -> list[PyTreeDef]:
    return treedef.children()


def treedef_tuple(treedefs) -> PyTreeDef:
    """The structure of a tuple whose elements have the given structures."""
    return PyTreeDef((_TUPLE, None, tuple(t._node for t in treedefs)))


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """True for a single node: a leaf, None, or an empty container (as in JAX)."""
    return treedef.num_nodes == 1


def all_leaves(iterable, is_leaf=None) -> bool:
    """Whether every element of ``iterable`` is a leaf (cheaper than flattening)."""
    return all((is_leaf is not None and is_leaf(x)) or _node_type(x) is None for x in iterable)


def _one_level(tree, flatten_name):
    node_type = _node_type(tree)
    if node_type is None:
        raise ValueError(f"can't tree-flatten type: {type(tree)}")
    children, aux = getattr(node_type, flatten_name)(tree)
    return (tuple(children) if node_type is _DICT else children), aux


def flatten_one_level(tree):
    """``(children, aux data)`` of a pytree node; ValueError for a leaf."""
    return _one_level(tree, "flatten")


def flatten_one_level_with_keys(tree):
    """``([(key, child), ...], aux data)`` of a pytree node; ValueError for a leaf."""
    return _one_level(tree, "flatten_with_keys")


def is_tree_node(typ: type) -> bool:
    """Whether instances of ``typ`` are pytree nodes (registered, or a namedtuple class)."""
    return typ in _registry or (issubclass(typ, tuple) and hasattr(typ, "_fields"))


class PyTreeRegistry:
    """The registry's methods under JAX's names; pyjax has the one ``default_registry``."""

    def flatten(self, tree, leaf_predicate=None):
        return user.tree_flatten(tree, leaf_predicate)

    def flatten_with_path(self, tree, is_leaf=None):
        """``is_leaf(key_path, x)``, as JAX's registry method calls it."""
        return user.tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path=True)

    def flatten_one_level(self, tree):
        return user.flatten_one_level(tree) if user._node_type(tree) is not None else None

    def flatten_one_level_with_keys(self, tree):
        return (user.flatten_one_level_with_keys(tree) if user._node_type(tree) is not None
                else None)

    def is_node(self, typ) -> bool:
        return user.is_tree_node(typ)

    def register_node(self, type, to_iterable, from_iterable, to_iterable_with_keys=None):
        register_pytree_node(type, to_iterable, from_iterable, to_iterable_with_keys)

    def register_dataclass_node(self, type, data_fields, meta_fields):
        register_dataclass(type, data_fields, meta_fields)


default_registry = PyTreeRegistry()


class _HashableCallableShim:
    """Wraps a ``functools.partial`` so ``partial.__new__`` cannot merge its arguments
    into a ``Partial``'s leaves; delegates call, hash and equality."""

    def __init__(self, fun):
        self.fun = fun

    def __call__(self, *args, **kw):
        return self.fun(*args, **kw)

    def __hash__(self):
        return hash(self.fun)

    def __eq__(self, other):
        return self.fun == (other.fun if isinstance(other, _HashableCallableShim) else other)

    def __repr__(self):
        return f"_HashableCallableShim({self.fun!r})"


class Partial(functools.partial):
    """A ``functools.partial`` that is a pytree: bound args/keywords are leaves and the
    function is static aux data, so closures can cross jit boundaries."""

    def __new__(cls, func, *args, **kw):
        if isinstance(func, functools.partial):
            func = _HashableCallableShim(func)
        return super().__new__(cls, func, *args, **kw)


register_pytree_node(
    Partial,
    lambda p: ((p.args, p.keywords), p.func),
    lambda func, xs: Partial(func, *xs[0], **xs[1]),
)


def _user_view() -> types.SimpleNamespace:
    """This module's functions as users see them (``pyjax.tree_util``): the same code run
    with ``_user_registry`` as its ``_registry``, so array nodes are leaves there."""
    names = {**globals(), "_registry": _user_registry}
    for name, f in list(names.items()):
        if isinstance(f, types.FunctionType) and f.__module__ == __name__:
            g = types.FunctionType(f.__code__, names, name, f.__defaults__, f.__closure__)
            g.__kwdefaults__, g.__doc__ = f.__kwdefaults__, f.__doc__
            names[name] = g
    return types.SimpleNamespace(**names)


user = _user_view()
