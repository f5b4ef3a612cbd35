"""pyjax.tree_util checked against jax.tree_util as the oracle."""
import collections
import dataclasses
import functools

import jax.tree_util as jtu
import pytest
from hypothesis import given, settings, strategies as st

import pyjax.tree_util as tu

Point = collections.namedtuple("Point", "x y")


def trees(leaves=st.integers(-5, 5)):
    """Random nested tuples/lists/dicts/None over int leaves."""
    keys = st.text("abcde", min_size=1, max_size=2)
    return st.recursive(
        st.one_of(leaves, st.none()),
        lambda kids: st.one_of(
            st.lists(kids, max_size=3).map(tuple),
            st.lists(kids, max_size=3),
            st.dictionaries(keys, kids, max_size=3),
            st.builds(Point, kids, kids),
        ),
        max_leaves=10,
    )


fast = settings(max_examples=60, deadline=None)


def assert_same(tree, **kw):
    leaves, td = tu.tree_flatten(tree, **kw)
    j_leaves, j_td = jtu.tree_flatten(tree, **kw)
    assert leaves == j_leaves
    assert repr(td) == repr(j_td)
    assert (td.num_leaves, td.num_nodes) == (j_td.num_leaves, j_td.num_nodes)
    return leaves, td


def assert_identical(a, b):
    """Equal, with the same container types and dict key order all the way down."""
    assert type(a) is type(b) and a == b
    if isinstance(a, (tuple, list)):
        for x, y in zip(a, b):
            assert_identical(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_identical(a[k], b[k])


@fast
@given(trees())
def test_flatten_matches_jax_and_round_trips(tree):
    leaves, td = assert_same(tree)
    rebuilt = td.unflatten(leaves)
    assert rebuilt == tree
    assert_identical(rebuilt, jtu.tree_unflatten(jtu.tree_structure(tree), leaves))  # dicts come back sorted
    assert tu.tree_structure(tree) == td and hash(tu.tree_structure(tree)) == hash(td)
    assert [repr(c) for c in td.children()] == [repr(c) for c in jtu.tree_structure(tree).children()]


@fast
@given(trees(), trees())
def test_treedef_equality_matches_jax(a, b):
    ours = tu.tree_structure(a) == tu.tree_structure(b)
    assert ours == (jtu.tree_structure(a) == jtu.tree_structure(b))
    if ours:
        assert hash(tu.tree_structure(a)) == hash(tu.tree_structure(b))


@fast
@given(trees(), st.data())
def test_tree_map_over_prefix_trees_matches_jax(tree, data):
    """The second tree extends the first: each of its leaves may be a whole subtree."""
    leaves, td = tu.tree_flatten(tree)
    other = td.unflatten([data.draw(trees()) for _ in leaves])
    f = lambda x, y: (x, tu.tree_leaves(y))  # noqa: E731
    assert_identical(tu.tree_map(f, tree, other), jtu.tree_map(f, tree, other))
    assert td.flatten_up_to(other) == jtu.tree_structure(tree).flatten_up_to(other)


@fast
@given(trees())
def test_paths_match_jax(tree):
    ours, _ = tu.tree_flatten_with_path(tree)
    theirs, _ = jtu.tree_flatten_with_path(tree)
    assert [(repr(p), x) for p, x in ours] == [(repr(p), x) for p, x in theirs]
    assert [tu.keystr(p) for p, _ in ours] == [jtu.keystr(p) for p, _ in theirs]
    simple = dict(simple=True, separator="/")
    assert [tu.keystr(p, **simple) for p, _ in ours] == [jtu.keystr(p, **simple) for p, _ in theirs]
    assert tu.tree_map_with_path(lambda p, x: tu.keystr(p), tree) == jtu.tree_map_with_path(
        lambda p, x: jtu.keystr(p), tree)


def test_none_is_an_empty_node_not_a_leaf():
    assert tu.tree_leaves([None, (), {}]) == []
    assert repr(tu.tree_structure(None)) == "PyTreeDef(None)"
    assert tu.tree_map(lambda x: x + 1, {"a": 1, "b": (2, None)}) == {"a": 2, "b": (3, None)}
    assert tu.tree_leaves([1, None], is_leaf=lambda x: x is None) == [1, None]
    with pytest.raises(ValueError, match=r"key path \[1\]: expected None, got 2"):
        tu.tree_map(lambda a, b: a, (1, None), (1, 2))


def test_node_types_and_aux_data_are_part_of_the_structure():
    assert tu.tree_structure((1, 2)) != tu.tree_structure([1, 2])
    assert tu.tree_structure({"a": 1}) != tu.tree_structure({"b": 1})
    assert tu.tree_structure({"b": 1, "a": 2}) == tu.tree_structure({"a": 3, "b": 4})
    assert tu.tree_structure(Point(1, 2)) != tu.tree_structure((1, 2))
    assert tu.tree_structure((1, 2)) != tu.tree_structure((1, (2,)))
    assert tu.tree_structure(1) != "not a treedef"
    assert repr(tu.tree_structure((1, {"a": 2, "b": None}))) == "PyTreeDef((*, {'a': *, 'b': None}))"


def test_ordered_dict_and_defaultdict():
    od = collections.OrderedDict([("b", 1), ("a", 2)])
    dd = collections.defaultdict(list, {"b": 1, "a": 2})
    for tree in (od, dd, {"x": od, "y": [dd]}):
        leaves, td = assert_same(tree)
        assert_identical(td.unflatten(leaves), jtu.tree_unflatten(jtu.tree_structure(tree), leaves))
    out = tu.tree_map(lambda x: x * 10, dd)
    assert type(out) is collections.defaultdict and out.default_factory is list
    assert out == {"a": 20, "b": 10}
    assert tu.tree_structure(od) != tu.tree_structure(collections.OrderedDict(a=1, b=2))
    assert tu.tree_structure(dd) != tu.tree_structure(collections.defaultdict(dict, dd))


def test_subclasses_of_builtin_containers_are_leaves():
    class MyTuple(tuple):
        pass

    assert tu.tree_leaves([MyTuple((1, 2))]) == jtu.tree_leaves([MyTuple((1, 2))])


def test_is_leaf():
    tree = {"a": (1, 2), "b": [3, (4, 5)]}
    stop = lambda x: isinstance(x, tuple)  # noqa: E731
    assert_same(tree, is_leaf=stop)
    f = lambda x: len(x) if isinstance(x, tuple) else -x  # noqa: E731
    assert tu.tree_map(f, tree, is_leaf=stop) == jtu.tree_map(f, tree, is_leaf=stop) == {"a": 2, "b": [-3, 2]}
    assert tu.all_leaves([(1,), 2], is_leaf=stop) and not tu.all_leaves([(1,), 2])


class Box:
    def __init__(self, a, b, tag):
        self.a, self.b, self.tag = a, b, tag

    def __eq__(self, other):
        return type(other) is Box and (self.a, self.b, self.tag) == (other.a, other.b, other.tag)


for _reg in (tu, jtu):
    _reg.register_pytree_node(Box, lambda x: ((x.a, x.b), x.tag), lambda tag, ch: Box(*ch, tag))


def test_register_pytree_node():
    tree = [Box(1, (2, 3), "t"), Box(None, {"k": 4}, ("u", 1))]
    leaves, td = assert_same(tree)
    assert td.unflatten(leaves) == tree
    assert tu.tree_structure(Box(1, 2, "t")) != tu.tree_structure(Box(1, 2, "other"))
    paths = [tu.keystr(p) for p, _ in tu.tree_flatten_with_path(tree)[0]]
    assert paths == [jtu.keystr(p) for p, _ in jtu.tree_flatten_with_path(tree)[0]]
    with pytest.raises(ValueError, match="Duplicate"):
        tu.register_pytree_node(Box, lambda x: ((), None), lambda aux, ch: Box(0, 0, 0))
    with pytest.raises(ValueError, match="Duplicate"):
        tu.register_pytree_node(tuple, lambda x: ((), None), lambda aux, ch: ())


def test_unhashable_aux_data_still_hashes():
    a, b = tu.tree_structure(Box(1, 2, ["x"])), tu.tree_structure(Box(3, 4, ["x"]))
    assert a == b and hash(a) == hash(b)


@tu.register_pytree_node_class
class Pair:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def tree_flatten(self):
        return (self.x, self.y), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        assert type(children) is tuple
        return cls(*children)


class Keyed:
    def __init__(self, u, v):
        self.u, self.v = u, v


tu.register_pytree_with_keys(
    Keyed, lambda k: (((tu.GetAttrKey("u"), k.u), (tu.GetAttrKey("v"), k.v)), None),
    lambda aux, ch: Keyed(*ch))


def test_register_pytree_node_class_and_with_keys():
    p = tu.tree_map(lambda x: x + 1, Pair(1, [2]))
    assert (p.x, p.y) == (2, [3])
    paths = [tu.keystr(p) for p, _ in tu.tree_flatten_with_path(Keyed(1, (2,)))[0]]
    assert paths == [".u", ".v[0]"]
    k = tu.tree_map(str, Keyed(1, 2))
    assert (k.u, k.v) == ("1", "2")


@dataclasses.dataclass
class Inferred:
    x: object
    op: str = dataclasses.field(default="add", metadata=dict(static=True))
    y: object = None


@dataclasses.dataclass
class Explicit:
    x: object
    y: object


for _reg in (tu, jtu):
    _reg.register_dataclass(Inferred)
    _reg.register_dataclass(Explicit, data_fields=["x"], meta_fields=["y"])


def test_register_dataclass():
    for tree in (Inferred(1, "mul", (2, 3)), [Explicit({"a": 1}, "meta")]):
        leaves, td = assert_same(tree)
        assert td.unflatten(leaves) == tree
        assert [repr(p) for p, _ in tu.tree_flatten_with_path(tree)[0]] == [
            repr(p) for p, _ in jtu.tree_flatten_with_path(tree)[0]]
    assert tu.tree_structure(Inferred(1, "mul")) != tu.tree_structure(Inferred(1, "add"))


def test_register_dataclass_errors():
    @dataclasses.dataclass
    class D:
        x: int
        z: int = dataclasses.field(default=0, init=False)

    with pytest.raises(ValueError, match="unexpected fields: \\['z'\\]"):
        tu.register_dataclass(D)
    with pytest.raises(ValueError, match="Missing fields: \\['x'\\]"):
        tu.register_dataclass(D, data_fields=[], meta_fields=[])
    with pytest.raises(TypeError, match="not a dataclass"):
        tu.register_dataclass(int)
    with pytest.raises(TypeError, match="both be specified"):
        tu.register_dataclass(D, data_fields=["x"])
    assert tu.register_dataclass(D, data_fields=["x"], meta_fields=[], drop_fields=["z"]) is D


def test_partial():
    def f(a, b, *, c):
        return a + b + c

    p = tu.Partial(f, 1, c=10)
    assert isinstance(p, functools.partial) and p(2) == 13
    assert tu.tree_leaves(p) == jtu.tree_leaves(jtu.Partial(f, 1, c=10)) == [1, 10]
    assert repr(tu.tree_structure(p)) == repr(jtu.tree_structure(jtu.Partial(f, 1, c=10)))
    q = tu.tree_map(lambda x: x * 2, p)
    assert type(q) is tu.Partial and q.func is f and q(2) == 24
    assert tu.tree_structure(p) == tu.tree_structure(tu.Partial(f, 5, c=6))
    assert hash(tu.tree_structure(p)) == hash(tu.tree_structure(tu.Partial(f, 5, c=6)))
    assert tu.tree_structure(p) != tu.tree_structure(tu.Partial(max, 5, c=6))
    inner = functools.partial(f, 1)
    outer = tu.Partial(inner, 2)  # inner's bound argument stays static, not a leaf
    assert tu.tree_leaves(outer) == [2] and outer(c=3) == 6
    assert tu.tree_structure(outer) == tu.tree_structure(tu.Partial(inner, 7))


def test_unflatten_wrong_number_of_leaves():
    td = tu.tree_structure((1, [2]))
    with pytest.raises(ValueError, match="Too few leaves for PyTreeDef; expected 2, got 1"):
        td.unflatten([1])
    with pytest.raises(ValueError, match="Too many leaves for PyTreeDef; expected 2, got 3"):
        tu.tree_unflatten(td, iter([1, 2, 3]))
    assert tu.tree_unflatten(td, iter("ab")) == ("a", ["b"])


@pytest.mark.parametrize("first, second, message", [
    ((1, 2), [1, 2], "expected tuple, got \\[1, 2\\]"),
    ((1, 2), (1, 2, 3), "expected tuple of length 2, got length 3"),
    ({"a": 1}, {"b": 1}, "expected dict with keys \\('a',\\), got \\('b',\\)"),
    ({"a": [1, (2,)]}, {"a": [1, 2]}, "key path \\['a'\\]\\[1\\]: expected tuple, got 2"),
    (Point(1, 2), (1, 2), "expected namedtuple Point"),
    (Box(1, 2, "t"), Box(1, 2, "u"), "expected Box with node data 't', got 'u'"),
])
def test_tree_map_structure_mismatch(first, second, message):
    with pytest.raises(ValueError, match="argument 1 does not match.*" + message):
        tu.tree_map(lambda *xs: xs, first, second)
    with pytest.raises(ValueError):
        jtu.tree_map(lambda *xs: xs, first, second)


def test_tree_map_several_trees():
    trees_ = ({"a": 1, "b": [2]}, {"a": 10, "b": [20]}, {"a": 100, "b": [200]})
    assert tu.tree_map(lambda *xs: sum(xs), *trees_) == {"a": 111, "b": [222]}
    with pytest.raises(ValueError, match="argument 2 does not match"):
        tu.tree_map(lambda *xs: xs, trees_[0], trees_[1], {"a": 1})


def test_dict_keys_must_be_sortable():
    with pytest.raises(ValueError, match="sortable"):
        tu.tree_leaves({1: 1, "a": 2})


def test_reductions_and_predicates():
    assert tu.tree_reduce(lambda a, b: a + b, [1, (2, {"c": 3})]) == 6
    assert tu.tree_reduce(lambda a, b: a + b, [], 0) == 0
    with pytest.raises(TypeError):
        tu.tree_reduce(lambda a, b: a + b, [])
    assert tu.tree_all([1, (True,)]) and tu.tree_all([]) and not tu.tree_all([1, 0])
    for tree in (1, None, (), [1], (1, 2)):
        assert tu.treedef_is_leaf(tu.tree_structure(tree)) == jtu.treedef_is_leaf(jtu.tree_structure(tree))
    for xs in ([1, 2], [1, (2,)], [None], []):
        assert tu.all_leaves(xs) == jtu.all_leaves(xs)


def test_tree_transpose():
    outer, inner = tu.tree_structure([0, 0]), tu.tree_structure((0, 0, 0))
    tree = [(1, 2, 3), (4, 5, 6)]
    expected = jtu.tree_transpose(jtu.tree_structure([0, 0]), jtu.tree_structure((0, 0, 0)), tree)
    assert tu.tree_transpose(outer, inner, tree) == expected == ([1, 4], [2, 5], [3, 6])
    assert tu.tree_transpose(outer, None, tree) == expected
    with pytest.raises(TypeError):
        tu.tree_transpose(outer, inner, [(1, 2), (3, 4)])


def test_treedef_children_and_flatten_up_to():
    td = tu.tree_structure((1, {"a": 2, "b": None}))
    assert [repr(c) for c in td.children()] == ["PyTreeDef(*)", "PyTreeDef({'a': *, 'b': None})"]
    assert td.children()[1].num_leaves == 1
    assert tu.tree_structure(1).children() == [] and tu.tree_structure(None).children() == []
    assert td.flatten_up_to(([1], {"a": (2, 3), "b": None})) == [[1], (2, 3)]
    with pytest.raises(ValueError, match="expected None, got 1"):
        tu.tree_structure(None).flatten_up_to(1)


@dataclasses.dataclass
class _Pt:
    x: object
    y: object


for _mod in (jtu, tu):
    _mod.register_dataclass(_Pt, data_fields=["x", "y"], meta_fields=[])


@pytest.mark.parametrize("prefix, full", [
    ((0, None), (1, 2)),                              # a prefix: no errors
    ({"a": 1, "b": 2}, {"a": 1, "c": 2}),             # dict keys (metadata)
    ({"a": 1}, {"a": 1, "c": 2}),                     # numbers of children
    ((1, (2, 3)), (1, (2, 3, 4))),                    # tuple lengths, under a key
    ([1], (1,)),                                      # types
    ((None, [0, (0, 1)]), (1, [2, (3,)])),            # two errors, both reported
    (_Pt(1.0, [2.0]), _Pt(1.0, 2.0)),                 # under an attribute
    (collections.OrderedDict(b=0, a=0), collections.OrderedDict(a=0, b=0)),
], ids=range(8))
def test_prefix_errors_match_jax(prefix, full):
    from jax._src.tree_util import prefix_errors as theirs
    from pyjax._jax_src.tree_util import prefix_errors as ours
    mine = [(type(e("in_axes")), str(e("in_axes"))) for e in ours(prefix, full)]
    ref = [(type(e("in_axes")), str(e("in_axes"))) for e in theirs(prefix, full)]
    assert mine == ref
