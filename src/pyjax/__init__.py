"""pyjax: JAX's programming model written from scratch in Python on NumPy.

``import pyjax as jax; import pyjax.numpy as jnp`` and keep the rest of the program.
"""
from pyjax._src.config import config as config
from pyjax._src.core.trace import ArrayBase as Array
from pyjax._src import lax as _lax_families  # noqa: F401  (registers every primitive)
from pyjax._src.numpy import array_methods as _array_methods
from pyjax._src.api import (
    ShapeDtypeStruct as ShapeDtypeStruct,
    block_until_ready as block_until_ready,
    disable_jit as disable_jit,
    eval_shape as eval_shape,
    checkpoint as checkpoint,
    grad as grad,
    hessian as hessian,
    jacfwd as jacfwd,
    jacobian as jacobian,
    jacrev as jacrev,
    jit as jit,
    jvp as jvp,
    linear_transpose as linear_transpose,
    linearize as linearize,
    make_jaxpr as make_jaxpr,
    remat as remat,
    value_and_grad as value_and_grad,
    vjp as vjp,
    vmap as vmap,
)
from pyjax._src.custom_derivatives import custom_jvp as custom_jvp, custom_vjp as custom_vjp
from pyjax._src.backends import (
    default_backend as default_backend,
    device_count as device_count,
    devices as devices,
    local_device_count as local_device_count,
    local_devices as local_devices,
)
from pyjax import dtypes as dtypes, errors as errors, lax as lax, nn as nn  # noqa: E402
from pyjax import numpy as numpy, tree as tree, tree_util as tree_util  # noqa: E402
from pyjax import random as random  # noqa: E402
from pyjax.tree_util import tree_map as tree_map  # noqa: E402  (jax.tree_map, deprecated alias)

from pyjax._src.api_extras import (  # noqa: E402  (the rest of JAX's top-level API)
    checkpoint_policies as checkpoint_policies,
    clear_caches as clear_caches,
    closure_convert as closure_convert,
    custom_gradient as custom_gradient,
    device_get as device_get,
    ensure_compile_time_eval as ensure_compile_time_eval,
    live_arrays as live_arrays,
    named_call as named_call,
    named_scope as named_scope,
    print_environment_info as print_environment_info,
    host_count as host_count,
    host_id as host_id,
    host_ids as host_ids,
    process_count as process_count,
    process_index as process_index,
    process_indices as process_indices,
    typeof as typeof,
    copy_to_host_async as copy_to_host_async,
    effects_barrier as effects_barrier,
    fwd_and_bwd as fwd_and_bwd,
)
from pyjax._src.backends import Device as Device  # noqa: E402
from pyjax._src.spmd import (  # noqa: E402  (many devices: placing arrays, shard_map)
    device_put as device_put,
    make_array_from_callback as make_array_from_callback,
    make_array_from_process_local_data as make_array_from_process_local_data,
    make_array_from_single_device_arrays as make_array_from_single_device_arrays,
    pmap as pmap,
    reshard as reshard,
    shard_map as shard_map,
    smap as smap,
)
from pyjax._src.backends.sharding import (  # noqa: E402
    NamedSharding as NamedSharding,
    PartitionSpec as P,
    make_mesh as make_mesh,
    set_mesh as set_mesh,
)
from pyjax._src.backends.sharding import Shard as Shard  # noqa: E402
from pyjax import sharding as sharding, distributed as distributed  # noqa: E402
from pyjax._src.config import (  # noqa: E402  (flags as context managers)
    debug_infs as debug_infs,
    default_device as default_device,
    debug_nans as debug_nans,
    default_matmul_precision as default_matmul_precision,
    enable_checks as enable_checks,
    enable_x64 as enable_x64,
    explain_cache_misses as explain_cache_misses,
    log_compiles as log_compiles,
    numpy_dtype_promotion as numpy_dtype_promotion,
    numpy_rank_promotion as numpy_rank_promotion,
    threefry_partitionable as threefry_partitionable,
)
from pyjax._src.dtypes import float0 as float0  # noqa: E402
from pyjax import flatten_util as flatten_util, test_util as test_util  # noqa: E402
from pyjax import typing as typing  # noqa: E402
from pyjax._src.lax.callback import pure_callback as pure_callback  # noqa: E402
from pyjax import debug as debug, experimental as experimental  # noqa: E402
from pyjax._src.jax_alias import install_as_jax as install_as_jax  # noqa: E402
from pyjax import custom_batching as custom_batching, custom_derivatives as custom_derivatives  # noqa: E402,E501
from pyjax import core as core, dlpack as dlpack, image as image, monitoring as monitoring  # noqa: E402,E501
from pyjax import ops as ops  # noqa: E402
from pyjax import profiler as profiler, stages as stages  # noqa: E402
from pyjax import api_util as api_util  # noqa: E402
from pyjax import interpreters as interpreters  # noqa: E402  (jax.interpreters, as after import jax)
from pyjax._src.config import (  # noqa: E402  (more flags as context managers)
    allow_f16_reductions as allow_f16_reductions,
    auto_pcast as auto_pcast,
    array_garbage_collection_guard as array_garbage_collection_guard,
    check_tracer_leaks as check_tracer_leaks,
    checking_leaks as checking_leaks,
    debug_key_reuse as debug_key_reuse,
    default_prng_impl as default_prng_impl,
    enable_custom_prng as enable_custom_prng,
    legacy_prng_key as legacy_prng_key,
    make_user_context as make_user_context,
    no_execution as no_execution,
    no_tracing as no_tracing,
    remove_size_one_mesh_axis_from_type as remove_size_one_mesh_axis_from_type,
    softmax_custom_jvp as softmax_custom_jvp,
    thread_guard as thread_guard,
    transfer_guard as transfer_guard,
    transfer_guard_device_to_device as transfer_guard_device_to_device,
    transfer_guard_device_to_host as transfer_guard_device_to_host,
    transfer_guard_host_to_device as transfer_guard_host_to_device,
)

_array_methods.install()

from pyjax import version as version  # noqa: E402
__version__ = version.__version__
__version_info__ = version.__version_info__

from pyjax import ref as ref  # noqa: E402  (mutable array references)
from pyjax._src.transforms.refs import Ref as Ref  # noqa: E402
from pyjax._src.state import (  # noqa: E402
    ds as ds, empty_ref as empty_ref, free_ref as free_ref, freeze as freeze,
    new_ref as new_ref, MemorySpace as _MemorySpace)
import types as _types  # noqa: E402
memory = _types.SimpleNamespace(Space=_MemorySpace)
from pyjax._src.api import (  # noqa: E402  (vjp(...).with_refs entries and results)
    DidntWant as _DidntWant, DontWant as _DontWant, GradRef as _GradRef,
    GradValue as _GradValue)
ad = _types.SimpleNamespace(DontWant=_DontWant, DidntWant=_DidntWant, GradRef=_GradRef,
                            GradValue=_GradValue)
