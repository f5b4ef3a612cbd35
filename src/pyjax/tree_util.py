"""Public pytree API (mirrors ``jax.tree_util``)."""
from pyjax._src.tree_util import (
    DictKey as DictKey,
    FlattenedIndexKey as FlattenedIndexKey,
    GetAttrKey as GetAttrKey,
    KeyEntry as KeyEntry,
    KeyPath as KeyPath,
    Partial as Partial,
    PyTreeDef as PyTreeDef,
    SequenceKey as SequenceKey,
    default_registry as default_registry,
    keystr as keystr,
    register_dataclass as register_dataclass,
    register_pytree_node as register_pytree_node,
    register_pytree_node_class as register_pytree_node_class,
    register_pytree_with_keys as register_pytree_with_keys,
    register_pytree_with_keys_class as register_pytree_with_keys_class,
    register_static as register_static,
    tree_unflatten as tree_unflatten,
    treedef_children as treedef_children,
    treedef_is_leaf as treedef_is_leaf,
    treedef_tuple as treedef_tuple,
)
from pyjax._src.tree_util import user as _user

# The flattening functions as users see them: typed key arrays are leaves.
all_leaves = _user.all_leaves
flatten_one_level = _user.flatten_one_level
flatten_one_level_with_keys = _user.flatten_one_level_with_keys
is_tree_node = _user.is_tree_node
tree_all = _user.tree_all
tree_broadcast = _user.tree_broadcast
tree_flatten = _user.tree_flatten
tree_flatten_with_path = _user.tree_flatten_with_path
tree_leaves = _user.tree_leaves
tree_leaves_with_path = _user.tree_leaves_with_path
tree_map = _user.tree_map
tree_map_with_path = _user.tree_map_with_path
tree_reduce = _user.tree_reduce
tree_reduce_associative = _user.tree_reduce_associative
tree_structure = _user.tree_structure
tree_transpose = _user.tree_transpose
