"""``jax._src.dtypes``: ``jax.dtypes`` and the promotion error."""
from pyjax.dtypes import *  # noqa: F401,F403
from pyjax._src.dtypes import TypePromotionError as TypePromotionError  # noqa: F401
