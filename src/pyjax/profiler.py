"""``jax.profiler``: annotate code, record traces (Chrome trace-event JSON), serve
profiles, and snapshot live arrays as a pprof profile."""
from pyjax._src.api_extras import (  # noqa: F401
    device_memory_profile as device_memory_profile,
    save_device_memory_profile as save_device_memory_profile,
)
from pyjax._src.profiler import (  # noqa: F401
    ProfileData as ProfileData,
    ProfileEvent as ProfileEvent,
    ProfileOptions as ProfileOptions,
    ProfilePlane as ProfilePlane,
    StepTraceAnnotation as StepTraceAnnotation,
    TraceAnnotation as TraceAnnotation,
    annotate_function as annotate_function,
    register_subprocess as register_subprocess,
    start_server as start_server,
    start_trace as start_trace,
    stop_server as stop_server,
    stop_trace as stop_trace,
    trace as trace,
)
