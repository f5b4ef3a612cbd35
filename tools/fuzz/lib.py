"""One namespace per library, so an op written once runs on JAX and on pyjax alike.

Everything here imports lazily: the runner's parent process generates programs with NumPy
alone and only its worker processes import the two libraries."""
import importlib
import types

NAMES = ("jax", "pyjax")


def namespace(name: str) -> types.SimpleNamespace:
    """``J`` (the top module), ``jnp``, ``lax``, ``nn``, ``sp`` (scipy.special), ``linalg``
    (lax.linalg) and ``tree`` (tree_util) of library ``name``."""
    mod = importlib.import_module
    return types.SimpleNamespace(
        name=name, J=mod(name), jnp=mod(f"{name}.numpy"), lax=mod(f"{name}.lax"),
        nn=mod(f"{name}.nn"), sp=mod(f"{name}.scipy.special"),
        linalg=mod(f"{name}.lax.linalg"), tree=mod(f"{name}.tree_util"))
