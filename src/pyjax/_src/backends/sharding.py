"""How an array's data is laid out over devices: here always whole on one device, which
``SingleDeviceSharding`` and a single ``Shard`` describe (JAX's names and fields, so code
that inspects ``x.sharding`` or ``x.addressable_shards`` runs unchanged)."""
from __future__ import annotations

from typing import Any, NamedTuple


class SingleDeviceSharding:
    """All of an array on ``device``."""

    def __init__(self, device, *, memory_kind: str | None = None):
        self._device = device
        self._memory_kind = memory_kind or "device"

    device_set = property(lambda self: {self._device})
    memory_kind = property(lambda self: self._memory_kind)
    is_fully_replicated = property(lambda self: True)
    is_fully_addressable = property(lambda self: True)
    num_devices = property(lambda self: 1)

    def devices_indices_map(self, global_shape):
        return {self._device: (slice(None),) * len(global_shape)}

    def shard_shape(self, global_shape):
        return tuple(global_shape)

    def __eq__(self, other):
        return (isinstance(other, SingleDeviceSharding) and other._device == self._device and
                other._memory_kind == self._memory_kind)

    def __hash__(self):
        return hash((SingleDeviceSharding, self._device, self._memory_kind))

    def __repr__(self):
        return f"SingleDeviceSharding(device={self._device!r}, memory_kind={self._memory_kind})"


class Shard(NamedTuple):
    """One device's piece of an array: its index into the whole and its data."""
    device: Any
    index: tuple
    replica_id: int
    data: Any
