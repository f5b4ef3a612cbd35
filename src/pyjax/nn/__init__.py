"""Neural-network helpers (mirrors ``jax.nn``)."""
from pyjax._src.nn.functions import *  # noqa: F401,F403  (explicit list: functions.__all__)
from pyjax._src.nn.attention import *  # noqa: F401,F403  (explicit list: attention.__all__)
from pyjax.nn import initializers as initializers  # noqa: F401
