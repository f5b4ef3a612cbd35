"""``jax._src.tree_util``: ``jax.tree_util``'s names and the registry of node types
(``_registry``: type -> how to flatten it), which libraries test membership in."""
from pyjax.tree_util import *  # noqa: F401,F403
from pyjax._src.tree_util import NODE_TYPES as _registry, prefix_errors  # noqa: F401
