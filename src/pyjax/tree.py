"""The pytree functions under their short names (mirrors ``jax.tree``: ``jax.tree.map``...)."""
from pyjax._src.tree_util import (
    static as static,
    tree_unflatten as unflatten,
)
from pyjax._src.tree_util import user as _user

# The flattening functions as users see them: typed key arrays are leaves.
all = _user.tree_all
broadcast = _user.tree_broadcast
flatten = _user.tree_flatten
flatten_with_path = _user.tree_flatten_with_path
leaves = _user.tree_leaves
leaves_with_path = _user.tree_leaves_with_path
map = _user.tree_map
map_with_path = _user.tree_map_with_path
reduce = _user.tree_reduce
reduce_associative = _user.tree_reduce_associative
structure = _user.tree_structure
transpose = _user.tree_transpose
