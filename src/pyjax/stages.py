"""``jax.stages``: the ahead-of-time stages of a jitted function (``jit(f).trace(*args)``,
``.lower()``, ``.compile()``)."""
from pyjax._src.transforms.stages import (  # noqa: F401
    ArgInfo as ArgInfo,
    Compiled as Compiled,
    CompilerOptions as CompilerOptions,
    Lowered as Lowered,
    Traced as Traced,
    Wrapped as Wrapped,
)
