"""``jax._src.traceback_util``: JAX filters its own frames out of tracebacks at API
boundaries; pyjax shows the whole traceback, so a boundary is the function itself."""
import types

from pyjax.extend.source_info_util import is_user_filename as include_filename  # noqa: F401
from pyjax.extend.source_info_util import register_exclusion as register_exclusion  # noqa: F401


def include_frame(frame: types.FrameType) -> bool:
    """Whether a frame is the user's (not pyjax's, nor a registered exclusion's)."""
    return include_filename(frame.f_code.co_filename)


def api_boundary(fun=None, *, repro_api_name=None, repro_user_func=False):
    """Mark ``fun`` as an API entry point (returned unchanged: no frames are filtered)."""
    if fun is None:
        return lambda f: f
    return fun
