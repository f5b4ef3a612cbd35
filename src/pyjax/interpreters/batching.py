"""``jax.interpreters.batching``: batching rules. The three tables (JAX's signatures:
``rule(args, dims)``, ``rule(axis_size, axis_name, trace_type, args, dims)``,
``rule(axis_data, args, dims)``) all read and write the ``batch`` slot of pyjax's
primitives."""
from pyjax._src.extend.rules import (  # noqa: F401
    AxisData as AxisData,
    axis_primitive_batchers as axis_primitive_batchers,
    bdim_at_front as bdim_at_front,
    broadcast as broadcast,
    defvectorized as defvectorized,
    fancy_primitive_batchers as fancy_primitive_batchers,
    moveaxis as moveaxis,
    primitive_batchers as primitive_batchers,
)
from pyjax._src.transforms.batching import (  # noqa: F401
    BatchTrace as BatchTrace,
    BatchTracer as BatchTracer,
    not_mapped as not_mapped,
)
