"""``jax.experimental.mesh_utils``: arrays of devices shaped for a ``Mesh``. JAX orders TPU
devices by their physical topology; CPU devices have none, so a mesh takes them in order,
as JAX's does for them."""
from __future__ import annotations

import math

import numpy as np

from pyjax._src import backends

# JAX's per-TPU-generation mesh builders, by device kind: none applies to CPU devices.
device_kind_handler_dict: dict = {}


def create_device_mesh(mesh_shape, devices=None, *, contiguous_submeshes: bool = False,
                       allow_split_physical_axes: bool = False) -> np.ndarray:
    """``devices`` (default: every device) as an array of ``mesh_shape``."""
    devices = list(backends.devices() if devices is None else devices)
    if math.prod(mesh_shape) != len(devices):
        raise ValueError(f"Number of devices {len(devices)} must equal the product of "
                         f"mesh_shape {tuple(mesh_shape)}")
    grid = np.empty(len(devices), dtype=object)
    grid[:] = devices
    return grid.reshape(tuple(mesh_shape))


def create_hybrid_device_mesh(mesh_shape, dcn_mesh_shape, devices=None, *,
                              process_is_granule: bool = False,
                              should_sort_granules_by_key: bool = True,
                              allow_split_physical_axes: bool = False) -> np.ndarray:
    """A mesh of ``mesh_shape`` within each granule (here: each process, the only granule
    CPU devices have), the granules laid out as ``dcn_mesh_shape``: the result's axis i has
    ``mesh_shape[i] * dcn_mesh_shape[i]`` devices."""
    devices = list(backends.devices() if devices is None else devices)
    if not process_is_granule:
        raise ValueError(f"Device {devices[0]} does not have attribute slice_index. See "
                         f"`process_is_granule` option.")
    if len(mesh_shape) != len(dcn_mesh_shape):
        raise ValueError(f"mesh_shape {tuple(mesh_shape)} and dcn_mesh_shape "
                         f"{tuple(dcn_mesh_shape)} must have the same length")
    keys = sorted({d.process_index for d in devices}) if should_sort_granules_by_key else \
        list(dict.fromkeys(d.process_index for d in devices))
    if len(keys) != math.prod(dcn_mesh_shape):
        raise ValueError(f"Number of slices {len(keys)} must equal the product of "
                         f"dcn_mesh_shape {tuple(dcn_mesh_shape)}")
    granules = np.empty(len(keys), dtype=object)
    granules[:] = [create_device_mesh(mesh_shape, [d for d in devices if d.process_index == k])
                   for k in keys]
    return np.block(granules.reshape(tuple(dcn_mesh_shape)).tolist())
