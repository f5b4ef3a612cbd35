"""Vector quantization (mirrors ``jax.scipy.cluster.vq``)."""
from pyjax._src.scipy.cluster.vq import vq  # noqa: F401
