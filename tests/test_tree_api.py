"""pyjax.tree and the rest of pyjax.tree_util, against jax.tree / jax.tree_util."""
import collections
import dataclasses
import inspect

import jax
import jax.tree_util as jtu
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import pyjax
import pyjax.numpy as jnp
import pyjax.tree_util as tu
from test_tree_util import Point, trees

fast = settings(max_examples=40, deadline=None)


def _params(fn):
    """Parameter names, kinds and defaults (sentinel defaults compared by presence only)."""
    out = []
    for p in inspect.signature(fn).parameters.values():
        default = p.default
        if default is not inspect.Parameter.empty and not isinstance(default, (type(None), bool)):
            default = "<sentinel>"
        out.append((p.name, p.kind, default))
    return out


@pytest.mark.parametrize("module", ["tree", "tree_util"])
def test_every_name_with_jax_signature(module):
    theirs, ours = getattr(jax, module), getattr(pyjax, module)
    for name in (n for n in dir(theirs) if not n.startswith("_")):
        assert hasattr(ours, name), f"pyjax.{module}.{name} missing"
        fn = getattr(theirs, name)
        if inspect.isfunction(fn):
            assert _params(getattr(ours, name)) == _params(fn), f"{module}.{name}"


@fast
@given(trees())
def test_tree_module_matches_jax(tree):
    leaves = pyjax.tree.leaves(tree)
    assert leaves == jax.tree.leaves(tree)
    assert repr(pyjax.tree.structure(tree)) == repr(jax.tree.structure(tree))
    assert pyjax.tree.map(lambda x: x * 2, tree) == jax.tree.map(lambda x: x * 2, tree)
    assert pyjax.tree.reduce(lambda a, b: a - b, tree, 7) == jax.tree.reduce(lambda a, b: a - b, tree, 7)
    assert pyjax.tree.all(tree) == jax.tree.all(tree)
    assert [(jtu.keystr(p), x) for p, x in jax.tree.leaves_with_path(tree)] == \
        [(tu.keystr(p), x) for p, x in pyjax.tree.leaves_with_path(tree)]
    leaves_p, td = pyjax.tree.flatten(tree)
    assert pyjax.tree.unflatten(td, leaves_p) == tree


@fast
@given(trees(st.text("xyz", min_size=1, max_size=2)))
def test_reduce_associative_groups_as_jax(tree):
    """String concatenation with brackets shows the association order."""
    op = lambda a, b: f"({a}{b})"  # noqa: E731
    if not jax.tree.leaves(tree):
        assert pyjax.tree.reduce_associative(op, tree, identity="e") == "e"
        with pytest.raises(TypeError):
            pyjax.tree.reduce_associative(op, tree)
        return
    assert pyjax.tree.reduce_associative(op, tree) == jax.tree.reduce_associative(op, tree)


@fast
@given(trees(), st.data())
def test_broadcast_matches_jax(prefix, data):
    leaves, td = tu.tree_flatten(prefix)
    full = td.unflatten([data.draw(trees()) for _ in leaves])
    assert pyjax.tree.broadcast(prefix, full) == jax.tree.broadcast(prefix, full)


def test_broadcast_mismatch_and_is_leaf():
    with pytest.raises(ValueError):
        jax.tree.broadcast([1, 2], [3, 4, 5])
    with pytest.raises(ValueError, match="tree_broadcast"):
        pyjax.tree.broadcast([1, 2], [3, 4, 5])
    args = ({"a": (1, 2)}, {"a": ((3, 4), [5])})
    kw = dict(is_leaf=lambda x: isinstance(x, tuple))
    assert pyjax.tree.broadcast(*args, **kw) == jax.tree.broadcast(*args, **kw)


def test_is_leaf_takes_path():
    tree = {"a": [1, (2, 3)], "b": 4}
    stop = lambda path, x: len(path) == 2  # noqa: E731
    ours = pyjax.tree.flatten_with_path(tree, stop, is_leaf_takes_path=True)[0]
    theirs = jax.tree.flatten_with_path(tree, stop, is_leaf_takes_path=True)[0]
    assert [(tu.keystr(p), x) for p, x in ours] == [(jtu.keystr(p), x) for p, x in theirs]
    f = lambda p, x: (len(p), x)  # noqa: E731
    assert pyjax.tree.map_with_path(f, tree, is_leaf=stop, is_leaf_takes_path=True) == \
        jax.tree.map_with_path(f, tree, is_leaf=stop, is_leaf_takes_path=True)
    paths = [tu.keystr(p) for p, _ in tu.default_registry.flatten_with_path(tree, stop)[0]]
    assert paths == [jtu.keystr(p) for p, _ in jtu.default_registry.flatten_with_path(tree, stop)[0]]


_ONE_LEVEL = [[1, 2], (1, [2]), {"b": 1, "a": 2}, None, Point(1, 2),
              collections.OrderedDict(b=1, a=2), collections.defaultdict(list, a=1)]


@pytest.mark.parametrize("node", _ONE_LEVEL, ids=repr)
def test_one_level_flatten_and_node_data(node):
    ours, theirs = tu.flatten_one_level(node), jtu.flatten_one_level(node)
    assert (list(ours[0]), ours[1]) == (list(theirs[0]), theirs[1])
    ours, theirs = tu.flatten_one_level_with_keys(node), jtu.flatten_one_level_with_keys(node)
    assert [str(k) for k, _ in ours[0]] == [str(k) for k, _ in theirs[0]] or \
        isinstance(node, Point)  # JAX 0.10.2 names both namedtuple fields 'a' (its bug)
    assert [c for _, c in ours[0]] == [c for _, c in theirs[0]]
    assert tu.is_tree_node(type(node)) == jtu.is_tree_node(type(node))
    td, jtd = tu.tree_structure(node), jtu.tree_structure(node)
    assert td.node_data() == jtd.node_data()
    rebuilt = tu.PyTreeDef.from_node_data_and_children(
        tu.default_registry, td.node_data(), td.children())
    assert rebuilt == td and repr(rebuilt) == repr(jtd)


def test_leaves_are_not_nodes():
    for fn, jfn in [(tu.flatten_one_level, jtu.flatten_one_level),
                    (tu.flatten_one_level_with_keys, jtu.flatten_one_level_with_keys)]:
        with pytest.raises(ValueError):
            jfn(1.0)
        with pytest.raises(ValueError, match="can't tree-flatten"):
            fn(1.0)
    assert tu.default_registry.flatten_one_level(1.0) is None
    assert tu.is_tree_node(int) == jtu.is_tree_node(int) is False
    assert tu.tree_structure(1).node_data() is jtu.tree_structure(1).node_data() is None


def test_treedef_tuple_children_compose_walk():
    a, b = [1, 2], (1, {"a": 2})
    ours = tu.treedef_tuple([tu.tree_structure(a), tu.tree_structure(b)])
    assert repr(ours) == repr(jtu.treedef_tuple([jtu.tree_structure(a), jtu.tree_structure(b)]))
    assert ours == tu.tree_structure((a, b))
    assert [repr(c) for c in tu.treedef_children(ours)] == \
        [repr(c) for c in jtu.treedef_children(jtu.tree_structure((a, b)))]
    composed = tu.tree_structure(a).compose(tu.tree_structure(b))
    assert repr(composed) == repr(jtu.tree_structure(a).compose(jtu.tree_structure(b)))
    tree = {"a": (1, 2), "b": [3]}
    node = lambda children, data: ("n", children, data)  # noqa: E731
    for f_leaf in (lambda x: 10 * x, lambda x: x):
        assert tu.tree_structure(tree).walk(node, f_leaf, [1, 2, 3]) == \
            jtu.tree_structure(tree).walk(node, f_leaf, [1, 2, 3])
    # f_leaf=None means identity (JAX's binding declares it but rejects None)
    assert tu.tree_structure(tree).walk(node, None, [1, 2, 3]) == \
        jtu.tree_structure(tree).walk(node, lambda x: x, [1, 2, 3])


@dataclasses.dataclass
class Op:
    x: object
    y: object
    kind: str = pyjax.tree.static(default="add")


def test_static_dataclass_field():
    pyjax.tree_util.register_dataclass(Op)
    jax.tree_util.register_dataclass(
        dataclasses.make_dataclass("Op", [("x", object), ("y", object),
                                          ("kind", str, jax.tree.static(default="add"))]))
    assert dataclasses.fields(Op)[2].metadata["static"] is True
    leaves, td = tu.tree_flatten(Op(1, 2, "sub"))
    assert leaves == [1, 2] and td.unflatten([3, 4]) == Op(3, 4, "sub")


@tu.register_static
class Mode(str):
    pass


def test_register_static_is_static_under_jit():
    traces = []

    @pyjax.jit
    def f(x, mode):
        traces.append(mode)
        return x + 1 if mode == "add" else x - 1

    assert tu.tree_leaves([Mode("add"), 1]) == [1]
    assert float(f(jnp.float32(1), Mode("add"))) == 2.0
    assert float(f(jnp.float32(1), Mode("sub"))) == 0.0
    assert float(f(jnp.float32(5), Mode("sub"))) == 4.0
    assert traces == ["add", "sub"]


@tu.register_pytree_with_keys_class
class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b

    def tree_flatten_with_keys(self):
        return ((tu.GetAttrKey("a"), self.a), (tu.GetAttrKey("b"), self.b)), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)


def test_register_pytree_with_keys_class():
    paths = [(tu.keystr(p), x) for p, x in tu.tree_leaves_with_path({"p": Pair(1, [2])})]
    assert paths == [("['p'].a", 1), ("['p'].b[0]", 2)]
    doubled = tu.tree_map(lambda x: 2 * x, Pair(1, 2))
    assert (doubled.a, doubled.b) == (2, 4)


def test_registry_register_node_and_key_types():
    class Box:
        def __init__(self, v):
            self.v = v
    tu.default_registry.register_node(Box, lambda b: ((b.v,), None), lambda _, c: Box(*c))
    assert tu.tree_leaves([Box(np.float32(3))]) == [3] and tu.default_registry.is_node(Box)
    leaves, td = tu.default_registry.flatten([1, (2,)])
    assert leaves == [1, 2] and td == tu.tree_structure([1, (2,)])
    assert tu.KeyPath == tuple[tu.KeyEntry, ...]
