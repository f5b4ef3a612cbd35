"""``jax._src.dtypes``: ``jax.dtypes`` and the promotion error."""
from pyjax.dtypes import *  # noqa: F401,F403
from pyjax._src.dtypes import TypePromotionError as TypePromotionError  # noqa: F401
import abc as _abc  # noqa: E402

import numpy as _np  # noqa: E402


class ExtendedDType(_abc.ABC):
    """The base of JAX's extended dtypes (a dtype with no NumPy counterpart, described by
    its ``type`` category, ``name`` and ``_rules``). pyjax's arrays hold NumPy dtypes and
    ml_dtypes' types; an array of a library-defined extended dtype is not supported."""

    @property
    @_abc.abstractmethod
    def type(self) -> type: ...

    @property
    @_abc.abstractmethod
    def name(self) -> str: ...


DType = _np.dtype | ExtendedDType
