"""``jax._src.checkify``: ``jax.experimental.checkify``'s names, and ``Out``, the type
variable of a checkified function's output that libraries annotate with."""
from typing import TypeVar

from pyjax.experimental.checkify import *  # noqa: F401,F403
from pyjax.experimental.checkify import Error, JaxException, user_checks  # noqa: F401

Out = TypeVar("Out")
