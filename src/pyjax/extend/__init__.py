"""``jax.extend``: the API libraries use to define primitives and read jaxprs."""
from pyjax.extend import core as core, linear_util as linear_util  # noqa: F401
from pyjax.extend import source_info_util as source_info_util  # noqa: F401
