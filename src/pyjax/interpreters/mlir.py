"""``jax.interpreters.mlir``: lowering rules. pyjax compiles with its own compiler, not
MLIR: ``register_lowering(prim, lower_fun(fun))`` makes a library primitive compile as
``fun`` inlined, and a hand-written rule that calls ``emit_python_callback`` compiles to
that host callback; MLIR's own objects (``ir``, ``hlo``, contexts, types) raise
NotImplementedError naming themselves when used."""
from pyjax._src.extend.lowering import (  # noqa: F401
    LoweredFun as LoweredFun,
    emit_python_callback as emit_python_callback,
    lower_fun as lower_fun,
    register_lowering as register_lowering,
)

_MLIR_ONLY = {"ir", "hlo", "LoweringRuleContext", "ModuleContext", "LoweringParameters",
              "aval_to_ir_type", "aval_to_ir_types", "dtype_to_ir_type", "ir_constant",
              "ir_constants", "jaxpr_subcomp", "lower_jaxpr_to_fun", "lower_jaxpr_to_module",
              "make_ir_context", "module_to_string", "module_to_bytecode", "custom_call",
              "token_type", "dense_int_elements", "dense_int_array",
              "i32_attr", "i64_attr", "ir_attribute", "shape_tensor", "flatten_ir_values",
              "flatten_ir_types", "unflatten_ir_values_like_types"}


class MlirOnly:
    """An MLIR object pyjax does not have: any use raises NotImplementedError naming it."""

    def __init__(self, name: str):
        self.name = name

    def _fail(self, *args, **kwargs):
        raise NotImplementedError(f"jax.interpreters.mlir.{self.name}: pyjax compiles with its "
                                  f"own compiler and has no MLIR (see docs/ecosystem.md)")

    __call__ = _fail

    def __getattr__(self, attr):
        self._fail()


def __getattr__(name: str):
    if name in _MLIR_ONLY:
        return MlirOnly(name)
    raise AttributeError(f"module 'jax.interpreters.mlir' (pyjax) has no attribute {name!r}")
