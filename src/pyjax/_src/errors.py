"""JAX's error classes, each a subclass of the same builtin as JAX's."""
from __future__ import annotations

_DOCS = "https://jax.readthedocs.io/en/latest/errors.html#jax.errors."


class JAXTypeError(TypeError):
    """Base of the tracer errors that JAX raises as TypeErrors."""


class JAXIndexError(IndexError):
    pass


def _with_link(cls_name: str, message: str) -> str:
    return f"{message}\nSee {_DOCS}{cls_name}"


class ConcretizationTypeError(JAXTypeError):
    def __init__(self, tracer, context: str = ""):
        super().__init__(_with_link(type(self).__name__, _concretization_message(
            tracer, f"Abstract tracer value encountered where concrete value is expected: {tracer}\n{context}")))


class NonConcreteBooleanIndexError(JAXIndexError):
    def __init__(self, tracer):
        super().__init__(_with_link(
            "NonConcreteBooleanIndexError",
            f"Array boolean indices must be concrete; got {tracer}"))


class TracerArrayConversionError(JAXTypeError):
    def __init__(self, tracer):
        super().__init__(_with_link(
            "TracerArrayConversionError",
            f"The numpy.ndarray conversion method __array__() was called on {tracer}"))


class TracerIntegerConversionError(JAXTypeError):
    def __init__(self, tracer):
        super().__init__(_with_link(
            "TracerIntegerConversionError",
            f"The __index__() method was called on {tracer}"))


class TracerBoolConversionError(ConcretizationTypeError):
    def __init__(self, tracer):
        TypeError.__init__(self, _with_link("TracerBoolConversionError", _concretization_message(
            tracer, f"Attempted boolean conversion of traced array with shape {tracer.aval.str_short()}.")))


class UnexpectedTracerError(JAXTypeError):
    def __init__(self, message: str):
        super().__init__(_with_link("UnexpectedTracerError", message))


class KeyReuseError(JAXTypeError):
    pass


class InconclusiveDimensionOperation(Exception):
    """JAX's error for a computation on symbolic dimensions (shape polymorphism) whose
    result it cannot decide. pyjax's shapes are concrete, so it never raises it; libraries
    name it in ``except`` clauses."""


def _concretization_message(tracer, headline: str) -> str:
    """Say which traced function and which of its arguments the value came from."""
    why = tracer._trace.provenance(tracer) if hasattr(tracer._trace, "provenance") else ""
    return f"{headline}\n{why}" if why else headline


class JaxRuntimeError(RuntimeError):
    """An error raised while running a compiled program (JAX's ``XlaRuntimeError``)."""
