"""``jax.scipy.spatial.transform``: 3-D rotations stored as unit quaternions (x, y, z, w)
in the last axis, any leading axes a batch; and spherical linear interpolation between
them. Both are NamedTuples, hence pytrees: they pass through jit, vmap and grad."""
from __future__ import annotations

import re
import typing

import numpy as np

from pyjax._src.core.trace import get_aval
from pyjax._src.numpy import linalg as jla, numerical
from pyjax._src.scipy import jnp

_AXIS = {"x": 0, "y": 1, "z": 2}


def _check_seq(seq: str):
    """Whether ``seq`` names intrinsic (upper case) rotations; ValueError unless valid."""
    intrinsic = re.match(r"^[XYZ]{1,3}$", seq) is not None
    if not (intrinsic or re.match(r"^[xyz]{1,3}$", seq)):
        raise ValueError(f"Expected axes from `seq` to be from ['x', 'y', 'z'] or "
                         f"['X', 'Y', 'Z'], got {seq}")
    if any(a == b for a, b in zip(seq, seq[1:])):
        raise ValueError(f"Expected consecutive axes to be different, got {seq}")
    return intrinsic


def _norm(v):
    return jnp.sqrt(jnp.sum(v * v, axis=-1))


def _normalize(quat):
    return quat / _norm(quat)[..., None]


def _compose(p, q):
    """The quaternion product p q (apply q, then p)."""
    pv, qv, pw, qw = p[..., :3], q[..., :3], p[..., 3:], q[..., 3:]
    xyz = pw * qv + qw * pv + jla.cross(pv, qv)
    return jnp.concatenate([xyz, pw * qw - jnp.sum(pv * qv, axis=-1, keepdims=True)], -1)


def _elementary(axis: int, angle):
    """The quaternion of a rotation by ``angle`` about coordinate axis ``axis``."""
    zero = jnp.zeros_like(angle)
    parts = [zero, zero, zero, jnp.cos(angle / 2.0)]
    parts[axis] = jnp.sin(angle / 2.0)
    return jnp.stack(parts, axis=-1)


def _as_matrix(q):
    x, y, z, w = (q[..., i] for i in range(4))
    rows = [[x * x - y * y - z * z + w * w, 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), -x * x + y * y - z * z + w * w, 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), -x * x - y * y + z * z + w * w]]
    return jnp.stack([jnp.stack(r, axis=-1) for r in rows], axis=-2)


def _from_matrix(m):
    """The quaternion of a rotation matrix, computed from its largest diagonal term or
    its trace, whichever is largest (the numerically stable choice)."""
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    choice = jnp.argmax(jnp.stack([m[..., 0, 0], m[..., 1, 1], m[..., 2, 2], trace], -1), -1)
    quat = jnp.stack([m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                      m[..., 1, 0] - m[..., 0, 1], 1 + trace], axis=-1)
    for i in range(3):
        j, k = (i + 1) % 3, (i + 2) % 3
        parts = [None] * 4
        parts[i] = 1 - trace + 2 * m[..., i, i]
        parts[j] = m[..., j, i] + m[..., i, j]
        parts[k] = m[..., k, i] + m[..., i, k]
        parts[3] = m[..., k, j] - m[..., j, k]
        quat = jnp.where((choice == i)[..., None], jnp.stack(parts, axis=-1), quat)
    return _normalize(quat)


def _as_rotvec(quat, degrees: bool):
    quat = jnp.where(quat[..., 3:] < 0, -quat, quat)
    angle = 2.0 * jnp.arctan2(_norm(quat[..., :3]), quat[..., 3])
    a2 = angle * angle
    scale = jnp.where(angle <= 0.001, 2 + a2 / 12 + 7 * a2 * a2 / 2880,
                      angle / jnp.sin(angle / 2))
    scale = jnp.rad2deg(scale) if degrees else scale
    return scale[..., None] * quat[..., :3]


def _from_rotvec(rotvec, degrees: bool):
    rotvec = jnp.deg2rad(rotvec) if degrees else rotvec
    angle = _norm(rotvec)
    a2 = angle * angle
    scale = jnp.where(angle <= 0.001, 0.5 - a2 / 48 + a2 * a2 / 3840,
                      jnp.sin(angle / 2) / angle)
    return jnp.concatenate([scale[..., None] * rotvec, jnp.cos(angle / 2)[..., None]], -1)


def _as_euler(quat, axes, extrinsic: bool, degrees: bool):
    """Euler angles about ``axes`` (0-2), after Bernardes & Viollet's quaternion method."""
    first, third = (0, 2) if extrinsic else (2, 0)
    i, j, k = axes if extrinsic else axes[::-1]
    symmetric = i == k
    if symmetric:
        k = 3 - i - j
    sign = (i - j) * (j - k) * (k - i) // 2
    w = quat[..., 3]
    if symmetric:
        a, b, c, d = w, quat[..., i], quat[..., j], quat[..., k] * sign
    else:
        a, b = w - quat[..., j], quat[..., i] + quat[..., k] * sign
        c, d = quat[..., j] + w, quat[..., k] * sign - quat[..., i]
    middle = 2 * jnp.arctan2(jnp.hypot(c, d), jnp.hypot(a, b))
    eps = 1e-7
    case = jnp.where(jnp.abs(middle) <= eps, 1,
                     jnp.where(jnp.abs(middle - np.pi) <= eps, 2, 0))
    half_sum, half_diff = jnp.arctan2(b, a), jnp.arctan2(d, c)
    zero = jnp.zeros_like(middle)
    angles = [jnp.where(case == 1, 2 * half_sum, 2 * half_diff * (-1 if extrinsic else 1)),
              middle, zero]
    angles[first] = jnp.where(case == 0, half_sum - half_diff, angles[first])
    angles[third] = jnp.where(case == 0, half_sum + half_diff, angles[third])
    if not symmetric:
        angles[third] = angles[third] * sign
        angles[1] = angles[1] - np.pi / 2
    out = (jnp.stack(angles, axis=-1) + np.pi) % (2 * np.pi) - np.pi
    return jnp.rad2deg(out) if degrees else out


def _canonical(quat):
    """The sign of ``quat`` whose first nonzero of (w, x, y, z) is positive."""
    neg, zero = quat < 0, quat == 0
    flip = (neg[..., 3] | zero[..., 3] & neg[..., 0] | zero[..., 3] & zero[..., 0] & neg[..., 1]
            | zero[..., 3] & zero[..., 0] & zero[..., 1] & neg[..., 2])
    return jnp.where(flip[..., None], -quat, quat)


class Rotation(typing.NamedTuple):
    """Rotations in 3 dimensions, as unit quaternions ``quat`` (..., 4) in scalar-last
    order. Build one with the ``from_*`` class methods."""
    quat: typing.Any

    @classmethod
    def concatenate(cls, rotations: typing.Sequence):
        return cls(jnp.concatenate([r.quat for r in rotations]))

    @classmethod
    def from_euler(cls, seq: str, angles, degrees: bool = False):
        """Rotations about the axes of ``seq``: 'xyz' extrinsic (fixed axes), 'XYZ'
        intrinsic (the rotating body's axes)."""
        if not 1 <= len(seq) <= 3:
            raise ValueError(f"Expected axis specification to be a non-empty string of upto "
                             f"3 characters, got {seq}")
        intrinsic = _check_seq(seq)
        angles = jnp.atleast_1d(angles)
        if get_aval(angles).shape[-1] != len(seq):
            raise ValueError(f"Expected angles of last dimension {len(seq)} for seq={seq!r}, "
                             f"got shape {get_aval(angles).shape}")
        angles = jnp.deg2rad(angles) if degrees else angles
        quats = [_elementary(_AXIS[a], angles[..., n]) for n, a in enumerate(seq.lower())]
        result = quats[0]
        for q in quats[1:]:
            result = _compose(result, q) if intrinsic else _compose(q, result)
        return cls(result)

    @classmethod
    def from_matrix(cls, matrix):
        return cls(_from_matrix(jnp.asarray(matrix)))

    @classmethod
    def from_mrp(cls, mrp):
        """From modified Rodrigues parameters (the rotation vector's direction times
        tan(angle / 4))."""
        mrp = jnp.asarray(mrp)
        norm2 = jnp.sum(mrp * mrp, axis=-1, keepdims=True) + 1
        return cls(jnp.concatenate([2 * mrp[..., :3], 2 - norm2], -1) / norm2)

    @classmethod
    def from_quat(cls, quat):
        return cls(_normalize(jnp.asarray(quat)))

    @classmethod
    def from_rotvec(cls, rotvec, degrees: bool = False):
        """From rotation vectors: the axis scaled by the angle."""
        return cls(_from_rotvec(jnp.asarray(rotvec), degrees))

    @classmethod
    def identity(cls, num: int | None = None, dtype=float):
        if num is not None:
            raise NotImplementedError("Rotation.identity: num (a stack of identities) is "
                                      "not supported, as in JAX")
        return cls(jnp.array([0.0, 0.0, 0.0, 1.0], dtype=dtype))

    @classmethod
    def random(cls, random_key, num: int | None = None):
        raise NotImplementedError("Rotation.random is not implemented, as in JAX")

    def __getitem__(self, indexer):
        if self.single:
            raise TypeError("Single rotation is not subscriptable.")
        return Rotation(self.quat[indexer])

    def __len__(self):
        if self.single:
            raise TypeError("Single rotation has no len().")
        return get_aval(self.quat).shape[0]

    def __mul__(self, other) -> "Rotation":
        """The composition: ``other`` first, then ``self``."""
        return Rotation.from_quat(_compose(self.quat, other.quat))

    def apply(self, vectors, inverse: bool = False):
        """``vectors`` (..., 3) rotated (by the inverse rotation if ``inverse``)."""
        matrix = self.as_matrix()
        if inverse:
            matrix = jnp.swapaxes(matrix, -1, -2)
        return jnp.matmul(matrix, jnp.asarray(vectors)[..., None])[..., 0]

    def as_euler(self, seq: str, degrees: bool = False):
        if len(seq) != 3:
            raise ValueError(f"Expected 3 axes, got {seq}.")
        intrinsic = _check_seq(seq)
        return _as_euler(self.quat, [_AXIS[a] for a in seq.lower()], not intrinsic, degrees)

    def as_matrix(self):
        return _as_matrix(self.quat)

    def as_mrp(self):
        sign = jnp.where(self.quat[..., 3:] < 0, -1.0, 1.0)
        return sign * self.quat[..., :3] / (1.0 + sign * self.quat[..., 3:])

    def as_rotvec(self, degrees: bool = False):
        return _as_rotvec(self.quat, degrees)

    def as_quat(self, canonical: bool = False, scalar_first: bool = False):
        """The quaternions; ``canonical``: with w >= 0; ``scalar_first``: as (w, x, y, z)."""
        quat = _canonical(self.quat) if canonical else self.quat
        return jnp.roll(quat, 1, axis=-1) if scalar_first else quat

    def inv(self):
        return Rotation(self.quat * jnp.array([-1, -1, -1, 1], dtype=get_aval(self.quat).dtype))

    def magnitude(self):
        """The rotation angle in radians, in [0, pi]."""
        return 2.0 * jnp.arctan2(_norm(self.quat[..., :3]), jnp.abs(self.quat[..., 3]))

    def mean(self, weights=None):
        """The (weighted) mean rotation: the top eigenvector of sum_i w_i q_i q_i^T."""
        dtype = get_aval(self.quat).dtype
        n = get_aval(self.quat).shape[0]
        w = jnp.ones(n, dtype=dtype) if weights is None else jnp.asarray(weights, dtype=dtype)
        if get_aval(w).ndim != 1:
            raise ValueError(f"Expected `weights` to be 1 dimensional, got shape "
                             f"{get_aval(w).shape}.")
        if get_aval(w).shape[0] != len(self):
            raise ValueError(f"Expected `weights` to have number of values equal to number of "
                             f"rotations, got {get_aval(w).shape[0]} values and {len(self)} "
                             f"rotations.")
        K = jnp.dot(w[None, :] * self.quat.T, self.quat)
        return Rotation(jla.eigh(K)[1][:, -1])

    @property
    def single(self) -> bool:
        return get_aval(self.quat).ndim == 1


class Slerp(typing.NamedTuple):
    """Spherical linear interpolation between key rotations at increasing ``times``; build
    it with ``Slerp.init(times, rotations)`` and call it at new times."""
    times: typing.Any
    timedelta: typing.Any
    rotations: Rotation
    rotvecs: typing.Any

    @classmethod
    def init(cls, times, rotations: Rotation):
        if not isinstance(rotations, Rotation):
            raise TypeError("`rotations` must be a `Rotation` instance.")
        if rotations.single or len(rotations) == 1:
            raise ValueError("`rotations` must be a sequence of at least 2 rotations.")
        times = jnp.asarray(times, dtype=get_aval(rotations.quat).dtype)
        if get_aval(times).ndim != 1:
            raise ValueError(f"Expected times to be specified in a 1 dimensional array, got "
                             f"{get_aval(times).ndim} dimensions.")
        if get_aval(times).shape[0] != len(rotations):
            raise ValueError(f"Expected number of rotations to be equal to number of "
                             f"timestamps given, got {len(rotations)} rotations and "
                             f"{get_aval(times).shape[0]} timestamps.")
        starts = Rotation(rotations.quat[:-1])
        steps = (starts.inv() * Rotation(rotations.quat[1:])).as_rotvec()
        return cls(times, numerical.diff(times), starts, steps)

    def __call__(self, times):
        t = jnp.asarray(times, dtype=get_aval(self.times).dtype)
        if get_aval(t).ndim > 1:
            raise ValueError("`times` must be at most 1-dimensional.")
        single = get_aval(t).ndim == 0
        t = jnp.atleast_1d(t)
        i = jnp.maximum(jnp.searchsorted(self.times, t) - 1, 0)
        alpha = (t - self.times[i]) / self.timedelta[i]
        out = self.rotations[i] * Rotation.from_rotvec(self.rotvecs[i] * alpha[:, None])
        return out[0] if single else out
