"""Array memory layouts (``jax.experimental.layout``): which dimension is major-most in
memory, and a ``Format`` pairing a layout with a sharding. pyjax's buffers are NumPy
arrays in C order; a layout is metadata that never changes a value, so a constraint to
one checks it against the array and returns the array."""
from __future__ import annotations

from pyjax._src import tree_util
from pyjax._src.backends.sharding import Sharding


class _AutoLayout:
    """``Layout.AUTO``: the compiler chooses."""

    def __repr__(self):
        return "AUTO"


AUTO = _AutoLayout()


class Layout:
    """Dimensions from major to minor in memory, with an optional tiling."""

    AUTO = AUTO

    def __init__(self, major_to_minor, tiling=None, sub_byte_element_size_in_bits: int = 0):
        self.major_to_minor = tuple(major_to_minor)
        self.tiling = None if tiling is None else tuple(tuple(t) for t in tiling)
        self.sub_byte_element_size_in_bits = sub_byte_element_size_in_bits

    def _key(self):
        return self.major_to_minor, self.tiling, self.sub_byte_element_size_in_bits

    def __eq__(self, other):
        return isinstance(other, Layout) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return (f"Layout(major_to_minor={self.major_to_minor}, tiling={self.tiling}, "
                f"sub_byte_element_size_in_bits={self.sub_byte_element_size_in_bits})")

    def update(self, **changes) -> "Layout":
        fields = dict(zip(("major_to_minor", "tiling", "sub_byte_element_size_in_bits"),
                          self._key()))
        return Layout(**{**fields, **changes})

    def check_compatible_aval(self, shape) -> None:
        if len(self.major_to_minor) != len(shape):
            raise ValueError(f"Length of major_to_minor and the rank of the value should "
                             f"match. Got major_to_minor={self.major_to_minor} and "
                             f"shape={tuple(shape)}")


class Format:
    """A layout (``None``, ``Layout.AUTO`` or a ``Layout``) and a sharding."""

    __slots__ = ("layout", "sharding")

    def __init__(self, layout=None, sharding=None):
        if isinstance(layout, Layout) and sharding is None:
            raise ValueError(f"Sharding has to be concrete when layout is of type "
                             f"{type(layout)}. Please pass a `jax.sharding.NamedSharding` or "
                             f"`jax.sharding.SingleDeviceSharding` to the sharding argument. "
                             f"Got sharding {sharding}")
        if not isinstance(layout, (Layout, _AutoLayout, type(None))):
            raise TypeError(f"Invalid value received for the layout argument. Expected values "
                            f"are `None`, `Layout.AUTO` or an instance of `Layout`. Got "
                            f"{layout} of type {type(layout)}")
        if not isinstance(sharding, (Sharding, type(None))):
            raise TypeError(f"Invalid value received for the sharding argument. Expected "
                            f"values are `None` or an instance of `jax.Sharding`. Got "
                            f"{sharding} of type {type(sharding)}")
        self.layout, self.sharding = layout, sharding

    def __eq__(self, other):
        return (isinstance(other, Format) and self.layout == other.layout and
                self.sharding == other.sharding)

    def __hash__(self):
        return hash((self.layout, self.sharding))

    def __repr__(self):
        return f"Format(layout={self.layout}, sharding={self.sharding})"


def with_layout_constraint(x, layouts):
    """``x`` (a pytree), checked against ``layouts`` (a tree prefix of ``x``): a layout
    changes where elements sit in memory, never their values."""
    def check(layout, subtree):
        layout = layout.layout if isinstance(layout, Format) else layout
        if isinstance(layout, Layout):
            for leaf in tree_util.tree_leaves(subtree):
                layout.check_compatible_aval(leaf.shape)

    is_spec = lambda l: l is None or isinstance(l, (Layout, Format, _AutoLayout))
    tree_util.tree_map(check, layouts, x, is_leaf=is_spec)
    return x
