"""``jax.experimental.layout``: array memory layouts and formats (layout and sharding)."""
from pyjax._src.backends.layout import (  # noqa: F401
    Format as Format,
    Layout as Layout,
    with_layout_constraint as with_layout_constraint,
)
