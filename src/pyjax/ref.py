"""``jax.ref``: mutable array references and their operations."""
from pyjax._src.transforms.refs import AbstractRef as AbstractRef, Ref as Ref
from pyjax._src.state import (addupdate as addupdate, empty_ref as empty_ref,
                              free_ref as free_ref, freeze as freeze, get as get,
                              new_ref as new_ref, set as set, swap as swap)

__all__ = ["AbstractRef", "Ref", "addupdate", "free_ref", "freeze", "get", "new_ref",
           "empty_ref", "set", "swap"]
