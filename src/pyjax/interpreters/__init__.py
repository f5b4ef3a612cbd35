"""``jax.interpreters``: JAX's per-transformation rule tables (``ad``, ``batching``,
``mlir``, ``partial_eval``) as views onto pyjax's primitive declarations."""
from pyjax.interpreters import ad as ad, batching as batching, mlir as mlir  # noqa: F401
from pyjax.interpreters import partial_eval as partial_eval  # noqa: F401
