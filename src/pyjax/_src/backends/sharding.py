"""How an array's data is laid out over devices, with JAX's names and fields: a ``Mesh``
(devices in an n-d grid with named axes), a ``PartitionSpec`` (which mesh axes split each
array dimension), ``NamedSharding`` (the two together), ``SingleDeviceSharding`` and the
``Shard`` a device holds. These are metadata only; ``spmd.py`` places and moves data."""
from __future__ import annotations

import collections
import enum
import math
from typing import Any, NamedTuple

import numpy as np

from pyjax._src import backends
from pyjax._src.core.aval import ShapedArray


class AxisType(enum.Enum):
    """How the compiler treats a mesh axis: ``Explicit`` (shardings part of the types),
    ``Auto`` (left to the compiler) or ``Manual`` (inside ``shard_map``)."""
    Auto = enum.auto()
    Explicit = enum.auto()
    Manual = enum.auto()

    def __repr__(self):
        return self.name


def _entry(p):
    """A spec entry as JAX keeps it: a list as a tuple, a tuple of one name as the name,
    an empty tuple as None."""
    if isinstance(p, (list, tuple)):
        p = tuple(p)
        return None if not p else p[0] if len(p) == 1 else p
    return p


class PartitionSpec:
    """For each array dimension, the mesh axis (a name, a tuple of names, or None) splitting
    it; dimensions past the end are not split."""

    UNCONSTRAINED = "unconstrained"

    def __init__(self, *partitions):
        self._partitions = tuple(map(_entry, partitions))

    def __iter__(self):
        return iter(self._partitions)

    def __len__(self):
        return len(self._partitions)

    def __getitem__(self, i):
        return self._partitions[i]

    def __eq__(self, other):
        if isinstance(other, PartitionSpec):
            return self._partitions == other._partitions
        return isinstance(other, tuple) and self._partitions == other

    def __hash__(self):
        return hash(self._partitions)

    def __repr__(self):
        return f"P{self._partitions!r}"

    def axes_of(self, dim: int) -> tuple:
        """The mesh axes splitting dimension ``dim`` (empty: not split)."""
        entry = self._partitions[dim] if dim < len(self._partitions) else None
        if entry is None or entry == PartitionSpec.UNCONSTRAINED:
            return ()
        return tuple(entry) if isinstance(entry, tuple) else (entry,)

    def mesh_axes(self) -> list:
        """Every mesh axis the spec names, in order."""
        return [a for d in range(len(self)) for a in self.axes_of(d)]


def _all_of(axis_types: tuple, kind) -> bool:
    return bool(axis_types) and all(t == kind for t in axis_types)


class Mesh:
    """``devices`` (an n-d array of Devices) with a name for each of its axes. Used as a
    context manager it is the mesh that ``P(...)`` shardings refer to."""

    def __init__(self, devices, axis_names, axis_types=None):
        self.devices = np.asarray(devices, dtype=object)
        self.axis_names = (axis_names,) if isinstance(axis_names, str) else tuple(axis_names)
        if self.devices.ndim != len(self.axis_names):
            raise ValueError(f"Mesh requires the ndim of its first argument (`devices`) to equal "
                             f"the length of its second argument (`axis_names`), but got "
                             f"devices.ndim == {self.devices.ndim} and len(axis_names) == "
                             f"{len(self.axis_names)}.")
        if len(set(self.axis_names)) != len(self.axis_names):
            raise ValueError(f"Mesh axis names must be unique, got {self.axis_names}")
        if axis_types is None:
            axis_types = (AxisType.Auto,) * len(self.axis_names)
        elif isinstance(axis_types, AxisType):
            axis_types = (axis_types,) * len(self.axis_names)
        self.axis_types = tuple(axis_types)

    shape = property(lambda self: collections.OrderedDict(
        zip(self.axis_names, self.devices.shape)))
    axis_sizes = property(lambda self: tuple(self.devices.shape))
    size = property(lambda self: int(self.devices.size))
    empty = property(lambda self: self.devices.size == 0)
    device_ids = property(lambda self: np.vectorize(lambda d: d.id, otypes=[int])(self.devices))
    # (a mesh without axes has all of no kind, as in JAX)
    are_all_axes_auto = property(lambda self: _all_of(self.axis_types, AxisType.Auto))
    are_all_axes_explicit = property(lambda self: _all_of(self.axis_types, AxisType.Explicit))
    are_all_axes_manual = property(lambda self: _all_of(self.axis_types, AxisType.Manual))

    local_devices = property(lambda self: [d for d in self.devices.flat
                                           if d.process_index == backends.PROCESSES.index])

    def __eq__(self, other):
        return (isinstance(other, Mesh) and self.axis_names == other.axis_names and
                self.axis_types == other.axis_types and
                self.devices.shape == other.devices.shape and
                all(a == b for a, b in zip(self.devices.flat, other.devices.flat)))

    def __hash__(self):
        return hash((self.axis_names, self.devices.shape, tuple(d.id for d in self.devices.flat)))

    def __repr__(self):
        return (f"Mesh(axis_sizes={self.axis_sizes}, axis_names={self.axis_names}, "
                f"axis_types={self.axis_types!r})")

    def __str__(self):
        sizes = ", ".join(f"{n!r}: {s}" for n, s in zip(self.axis_names, self.axis_sizes))
        return f"Mesh({sizes}, axis_types={self.axis_types!r})"

    def __enter__(self):
        _MESH_STACK.append(self)
        return self

    def __exit__(self, *exc):
        _MESH_STACK.pop()

    @property
    def abstract_mesh(self):
        """The mesh's shape, names and types with its kind of device, no devices."""
        kind = self.devices.flat[0] if self.devices.size else None
        device = None if kind is None else AbstractDevice(kind.device_kind, None, kind.platform)
        return AbstractMesh(self.axis_sizes, self.axis_names, self.axis_types,
                            abstract_device=device)

    def position(self, device) -> dict:
        """The device's coordinate along each mesh axis."""
        where = np.argwhere(self.device_ids == device.id)[0]
        return dict(zip(self.axis_names, map(int, where)))


_MESH_STACK: list = []


def current_mesh():
    """The mesh set by ``set_mesh`` or a ``with mesh:`` block, or None."""
    return _MESH_STACK[-1] if _MESH_STACK else None


class _MeshSetting:
    """``set_mesh(mesh)``: sets it now; used in a ``with`` block, restores on exit."""

    def __init__(self, mesh):
        self._mesh = mesh
        _MESH_STACK.append(mesh)

    def __enter__(self):
        return self._mesh

    def __exit__(self, *exc):
        _MESH_STACK.remove(self._mesh)


def get_mesh():
    """The mesh set by ``set_mesh`` (an empty one if none)."""
    mesh = current_mesh()
    return Mesh(np.empty((), dtype=object), ()) if mesh is None else mesh


def make_single_device_sharding(device, *, memory_kind=None):
    return SingleDeviceSharding(device, memory_kind=memory_kind)


class AbstractDevice:
    """A kind of device (what an ``AbstractMesh`` records in place of devices)."""

    def __init__(self, device_kind: str, num_cores=None, platform: str = "cpu"):
        self.device_kind, self.num_cores, self.platform = device_kind, num_cores, platform

    def _fields(self) -> str:
        return (f"device_kind={self.device_kind}, num_cores={self.num_cores}, "
                f"platform={self.platform}")

    def __repr__(self):
        return f"AbstractDevice({self._fields()})"

    def __eq__(self, other):
        return isinstance(other, AbstractDevice) and self._fields() == other._fields()

    def __hash__(self):
        return hash(self._fields())


class AbstractMesh:
    """Axis names, sizes and types without devices: what tracing needs of a mesh (JAX
    keys its caches on it). Meshes with equal fields are equal (JAX interns them)."""

    def __init__(self, axis_sizes, axis_names, axis_types=None, *, abstract_device=None):
        self.axis_sizes = tuple(int(s) for s in axis_sizes)
        self.axis_names = (axis_names,) if isinstance(axis_names, str) else tuple(axis_names)
        if len(self.axis_sizes) != len(self.axis_names):
            raise ValueError(f"AbstractMesh: {len(self.axis_sizes)} axis sizes for "
                             f"{len(self.axis_names)} axis names")
        if axis_types is None:
            axis_types = (AxisType.Auto,) * len(self.axis_names)
        elif isinstance(axis_types, AxisType):
            axis_types = (axis_types,) * len(self.axis_names)
        self.axis_types = tuple(axis_types)
        if len(self.axis_types) != len(self.axis_names):
            raise ValueError(f"Number of axis names should match the number of axis_types. "
                             f"Got axis_names={self.axis_names} and "
                             f"axis_types={self.axis_types}")
        self.abstract_device = abstract_device
        self.size = math.prod(self.axis_sizes) if self.axis_sizes else 0

    shape_tuple = property(lambda self: tuple(zip(self.axis_names, self.axis_sizes)))
    shape = property(lambda self: collections.OrderedDict(self.shape_tuple))
    empty = property(lambda self: self.size == 0)
    abstract_mesh = property(lambda self: self)
    auto_axes = property(lambda self: self._of_type(AxisType.Auto))
    explicit_axes = property(lambda self: self._of_type(AxisType.Explicit))
    manual_axes = property(lambda self: self._of_type(AxisType.Manual))
    # (a mesh without axes has all of no kind, as in JAX)
    are_all_axes_auto = property(lambda self: _all_of(self.axis_types, AxisType.Auto))
    are_all_axes_explicit = property(lambda self: _all_of(self.axis_types, AxisType.Explicit))
    are_all_axes_manual = property(lambda self: _all_of(self.axis_types, AxisType.Manual))

    def _of_type(self, kind) -> tuple:
        return tuple(n for n, t in zip(self.axis_names, self.axis_types) if t == kind)

    def update(self, axis_sizes=None, axis_names=None, axis_types=None, **kwargs):
        """A copy with the given fields replaced."""
        kwargs.setdefault("abstract_device", self.abstract_device)
        return AbstractMesh(self.axis_sizes if axis_sizes is None else axis_sizes,
                            self.axis_names if axis_names is None else axis_names,
                            self.axis_types if axis_types is None else axis_types, **kwargs)

    def update_axis_types(self, name_to_type: dict):
        return self.update(axis_types=tuple(name_to_type.get(n, t) for n, t in
                                            zip(self.axis_names, self.axis_types)))

    def _key(self):
        return (self.axis_sizes, self.axis_names, self.axis_types, self.abstract_device)

    def __eq__(self, other):
        return isinstance(other, AbstractMesh) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        sizes = ", ".join(f"'{n}': {s}" for n, s in self.shape_tuple) or "()"
        device = "" if self.abstract_device is None else f", {self.abstract_device._fields()}"
        return f"AbstractMesh({sizes}, axis_types={self.axis_types!r}{device})"

    def _no(self, what):
        raise ValueError(f"AbstractMesh does not implement {what}")

    devices = property(lambda self: self._no("devices"))
    device_ids = property(lambda self: self._no("device_ids"))
    local_devices = property(lambda self: self._no("local_devices"))
    local_mesh = property(lambda self: self._no("local_mesh"))
    is_multi_process = property(lambda self: self._no("is_multi_process"))

    def __enter__(self):
        self._no("__enter__")

    def __exit__(self, *exc):
        self._no("__exit__")


_ABSTRACT_STACK: list = []


class use_abstract_mesh:  # noqa: N801  (JAX's name)
    """``with use_abstract_mesh(m):`` makes ``m`` what ``get_abstract_mesh`` returns."""

    def __init__(self, mesh):
        if not isinstance(mesh, AbstractMesh):
            raise ValueError(f"Expected mesh of type `jax.sharding.AbstractMesh`. Got type: "
                             f"{type(mesh)}")
        self.mesh = mesh

    def __enter__(self):
        prev = get_abstract_mesh()
        if not prev.empty and not self.mesh.empty and prev.size != self.mesh.size:
            raise ValueError(f"use_abstract_mesh cannot change the size of the mesh. Got new "
                             f"mesh: {self.mesh} with size={self.mesh.size} and prev mesh: "
                             f"{prev} with size={prev.size}")
        _ABSTRACT_STACK.append(self.mesh)

    def __exit__(self, *exc):
        _ABSTRACT_STACK.pop()


def get_abstract_mesh():
    """The abstract mesh of ``use_abstract_mesh``, else of the mesh ``set_mesh`` set,
    else an empty one."""
    if _ABSTRACT_STACK:
        return _ABSTRACT_STACK[-1]
    mesh = current_mesh()
    return AbstractMesh((), ()) if mesh is None else mesh.abstract_mesh


def set_mesh(mesh):
    if not isinstance(mesh, Mesh):
        raise ValueError(f"Expected mesh of type `jax.sharding.Mesh`. Got {type(mesh)}")
    return _MeshSetting(mesh)


def make_mesh(axis_shapes, axis_names, axis_types=None, *, devices=None):
    """A mesh of ``axis_shapes`` over the first of ``devices`` (all by default), axes ``Explicit``
    unless ``axis_types`` says otherwise, as in JAX."""
    axis_shapes = tuple(int(s) for s in axis_shapes)
    axis_names = (axis_names,) if isinstance(axis_names, str) else tuple(axis_names)
    if len(axis_shapes) != len(axis_names):
        raise ValueError(f"Mismatched lengths: {len(axis_shapes)} axis_shapes and "
                         f"{len(axis_names)} axis_names")
    devices = backends.devices() if devices is None else list(devices)
    if math.prod(axis_shapes) > len(devices):
        raise ValueError(f"Number of devices {len(devices)} must be >= the product of "
                         f"mesh_shape {axis_shapes}")
    devices = devices[:math.prod(axis_shapes)]  # (the first ones, as JAX takes)
    grid = np.empty(len(devices), dtype=object)
    grid[:] = devices
    types = (AxisType.Explicit,) * len(axis_names) if axis_types is None else axis_types
    return Mesh(grid.reshape(axis_shapes), axis_names, types)


class IndivisibleError(ValueError):
    """A sharding splits a dimension into pieces that do not divide it."""


class Sharding:
    """What every sharding is (``isinstance(s, jax.sharding.Sharding)``)."""


class SingleDeviceSharding(Sharding):
    """All of an array on ``device``."""

    def __init__(self, device, *, memory_kind: str | None = None):
        self._device = device
        self._memory_kind = memory_kind or "device"

    device_set = property(lambda self: {self._device})
    memory_kind = property(lambda self: self._memory_kind)
    is_fully_replicated = property(lambda self: True)
    is_fully_addressable = property(lambda self: True)
    num_devices = property(lambda self: 1)
    addressable_devices = property(lambda self: {self._device})

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


class NamedSharding(Sharding):
    """An array split over ``mesh`` as ``spec`` says, replicated over the axes it omits."""

    def __init__(self, mesh, spec=None, *, memory_kind: str | None = None):
        spec = PartitionSpec() if spec is None else spec
        if not isinstance(spec, PartitionSpec):
            raise TypeError(f"NamedSharding expects a PartitionSpec, got {spec!r}")
        for axis in spec.mesh_axes():
            if axis not in mesh.axis_names:
                raise ValueError(f"Resource axis: {axis} of {spec!r} is not found in mesh: "
                                 f"{mesh.axis_names}.")
        named = spec.mesh_axes()
        repeated = {a for a in named if named.count(a) > 1}
        if repeated:
            raise ValueError(f"A single NamedSharding spec specification can map every mesh "
                             f"axis to at most one positional dimension, but {spec!r} has "
                             f"duplicate entries for {sorted(repeated)}")
        self.mesh, self.spec = mesh, spec
        # (over an abstract mesh there is no memory to name, so JAX leaves it None)
        self._memory_kind = memory_kind or (None if isinstance(mesh, AbstractMesh) else "device")

    memory_kind = property(lambda self: self._memory_kind)
    device_set = property(lambda self: set(self.mesh.devices.flat))
    num_devices = property(lambda self: self.mesh.size)
    addressable_devices = property(lambda self: set(self.mesh.local_devices))
    is_fully_addressable = property(lambda self: len(self.mesh.local_devices) == self.mesh.size)

    @property
    def is_fully_replicated(self) -> bool:
        return all(self.mesh.shape[a] == 1 for a in self.spec.mesh_axes())

    def _parts(self, dim: int) -> int:
        return math.prod(self.mesh.shape[a] for a in self.spec.axes_of(dim))

    def check_shape(self, global_shape) -> None:
        """JAX's ValueError for a spec longer than the rank or a split that is uneven."""
        if len(self.spec) > len(global_shape):
            raise ValueError(f"One of device_put args was given the sharding of {self!r}, "
                             f"which implies that the global size of its dimension "
                             f"{len(self.spec) - 1} should be divisible by its partitions, but "
                             f"it has rank {len(global_shape)} < {len(self.spec)}")
        factors = [self._parts(d) for d in range(len(global_shape))]
        for d, (size, parts) in enumerate(zip(global_shape, factors)):
            if size % parts:
                raise IndivisibleError(
                    f"Sharding {self!r} implies that array axis {d} is partitioned {parts} "
                    f"times, but the dimension size is {size} (full shape: "
                    f"{tuple(global_shape)}, per-dimension tiling factors: {factors} should "
                    f"evenly divide the shape)")

    def shard_shape(self, global_shape):
        self.check_shape(global_shape)
        return tuple(s // self._parts(d) for d, s in enumerate(global_shape))

    def devices_indices_map(self, global_shape) -> dict:
        """Each device's index (a tuple of slices) into an array of ``global_shape``."""
        self.check_shape(global_shape)
        out = {}
        for device in self.mesh.devices.flat:
            pos = self.mesh.position(device)
            index = []
            for d, size in enumerate(global_shape):
                axes = self.spec.axes_of(d)
                if not axes:
                    index.append(slice(None))
                    continue
                block = 0
                for a in axes:  # the first axis named is the most significant
                    block = block * self.mesh.shape[a] + pos[a]
                step = size // self._parts(d)
                index.append(slice(block * step, (block + 1) * step))
            out[device] = tuple(index)
        return out

    def replica_id(self, device) -> int:
        """The device's rank among the devices holding the same piece (mesh order over the
        axes the spec does not use)."""
        pos, used, rid = self.mesh.position(device), set(self.spec.mesh_axes()), 0
        for a in self.mesh.axis_names:
            if a not in used:
                rid = rid * self.mesh.shape[a] + pos[a]
        return rid

    def with_spec(self, spec):
        return NamedSharding(self.mesh, spec, memory_kind=self._memory_kind)

    def __eq__(self, other):
        return (isinstance(other, NamedSharding) and self.mesh == other.mesh and
                self.spec == other.spec and self._memory_kind == other._memory_kind)

    def __hash__(self):
        return hash((self.mesh, self.spec))

    def __repr__(self):
        memory = "" if self._memory_kind is None else f", memory_kind={self._memory_kind}"
        return f"NamedSharding(mesh={self.mesh}, spec={self.spec!r}{memory})"


class Shard(NamedTuple):
    """One device's piece of an array: its index into the whole and its data."""
    device: Any
    index: tuple
    replica_id: int
    data: Any


# ---------------------------------------------------------------------------- the picture

def _bounds(index: slice, size: int) -> tuple[int, int]:
    start, stop, _ = index.indices(size)
    return start, stop


def sharding_picture(shape, sharding, *, scale: float = 1.0, min_width: int = 9,
                     max_width: int = 80) -> str:
    """The box picture ``jax.debug.visualize_sharding`` prints (rich's square box, no
    colour), for arrays of rank 1 or 2: one cell per distinct piece, named by the devices
    holding it, sized in proportion to the piece."""
    shape = tuple(shape)
    if not 1 <= len(shape) <= 2:
        raise ValueError("`visualize_sharding` only works for shapes with 1 and 2 dimensions.")
    base_height = int(10 * scale)
    base_width = int(base_height * (shape[1] if len(shape) == 2 else 1) / shape[0])
    cells: dict = {}
    starts = [set() for _ in range(2)]
    for device, index in sharding.devices_indices_map(shape).items():
        spans = [_bounds(s, n) for s, n in zip(index, shape)]
        if len(shape) == 1:
            spans = [(0, 1)] + spans
        for k, (lo, _) in enumerate(spans):
            starts[k].add(lo)
        cell = cells.setdefault(tuple(spans), [device.platform.upper(), set()])
        cell[1].add(device.id)
    rows, cols = sorted(starts[0]), sorted(starts[1])
    grid = {}
    for spans, (kind, ids) in cells.items():
        (r0, r1), (c0, c1) = spans
        width = int((c1 - c0) / shape[-1] * base_width * 2.5)
        width = min(max(width, min_width), max_width)
        height = 1 if len(shape) == 1 else int((r1 - r0) / shape[0] * base_height)
        text = f"{kind} " + ",".join(str(i) for i in sorted(ids))
        grid[rows.index(r0), cols.index(c0)] = (text, width, height)
    return _draw(grid, len(rows), len(cols), max_width)


def _draw(grid: dict, n_rows: int, n_cols: int, max_width: int) -> str:
    """Cells padded around centered text as rich pads them, in a square-box table."""
    def padded(text, width, height):
        left = max((width - len(text) - 2) // 2, 0)
        right = max(width - len(text) - 2 - left, 0)
        top = max((height - 2) // 2, 0)
        bottom = max(height - 2 - top, 0)
        return " " * left + text + " " * right, top, bottom

    cells = {k: padded(*v) for k, v in grid.items()}
    widths = [max(len(cells[i, j][0]) for i in range(n_rows)) for j in range(n_cols)]
    if sum(widths) + n_cols + 1 > max_width:
        raise NotImplementedError(f"visualize_sharding: a picture wider than max_width="
                                  f"{max_width} (which rich would shrink) is not supported")
    lines = ["┌" + "┬".join("─" * w for w in widths) + "┐"]
    for i in range(n_rows):
        top = max(cells[i, j][1] for j in range(n_cols))
        bottom = max(cells[i, j][2] for j in range(n_cols))
        texts = [cells[i, j][0].center(widths[j]) for j in range(n_cols)]
        blank = "│" + "│".join(" " * w for w in widths) + "│"
        lines += [blank] * top + ["│" + "│".join(texts) + "│"] + [blank] * bottom
        if i + 1 < n_rows:
            lines.append("├" + "┼".join("─" * w for w in widths) + "┤")
    lines.append("└" + "┴".join("─" * w for w in widths) + "┘")
    return "\n".join(lines)


class ManualAxisType:
    """Along which manual mesh axes a value varies, or is unreduced or reduced: the
    type-level record JAX's avals carry inside ``shard_map``. pyjax's avals do not carry
    one (its shard_map reads varying axes off the vmap traces); the class is the value
    libraries build and compare. Instances are interned, so equal ones are identical."""

    __slots__ = ("varying", "unreduced", "reduced", "__weakref__")
    _interned: Any = None

    def __new__(cls, *, varying=frozenset(), unreduced=frozenset(), reduced=frozenset()):
        if varying & unreduced:
            raise ValueError(f"varying and unreduced cannot have common mesh axes. Got "
                             f"varying={varying} and unreduced={unreduced}")
        if varying & reduced:
            raise ValueError(f"varying and reduced cannot have common mesh axes. Got "
                             f"varying={varying} and reduced={reduced}")
        fields = (frozenset(varying), frozenset(unreduced), frozenset(reduced))
        if cls._interned is None:
            import weakref
            cls._interned = weakref.WeakValueDictionary()
        obj = cls._interned.get(fields)
        if obj is None:
            obj = object.__new__(cls)
            for name, value in zip(cls.__slots__, fields):
                object.__setattr__(obj, name, value)
            cls._interned[fields] = obj
        return obj

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field '{name}'")

    def __repr__(self):
        return (f"ManualAxisType(varying={self.varying}, unreduced={self.unreduced}, "
                f"reduced={self.reduced})")

    def __reduce__(self):
        return _manual_axis_type, (self.varying, self.unreduced, self.reduced)

    def update(self, **fields):
        return ManualAxisType(**{"varying": self.varying, "unreduced": self.unreduced,
                                 "reduced": self.reduced, **fields})

    def to_ct_mat(self):
        """The type of a cotangent: unreduced and reduced swap."""
        return self.update(unreduced=self.reduced, reduced=self.unreduced)

    empty = property(lambda self: self is ManualAxisType())
    vur = property(lambda self: self.varying | self.unreduced | self.reduced)

    def invarying(self, mesh) -> frozenset:
        """The mesh's manual axes along which the value is the same everywhere."""
        return frozenset(mesh.abstract_mesh.manual_axes) - self.vur


def _manual_axis_type(varying, unreduced, reduced):
    """Unpickling: the interned instance."""
    return ManualAxisType(varying=varying, unreduced=unreduced, reduced=reduced)


def _type_sharding(aval: ShapedArray) -> NamedSharding:
    """JAX's type-level sharding (``jax.typeof(x).sharding``): every dimension unsharded
    over the mesh in context (pyjax's types carry no sharding, so the Auto-axes view is
    the only one)."""
    return NamedSharding(get_abstract_mesh(), PartitionSpec(*[None] * len(aval.shape)))


ShapedArray.sharding = property(_type_sharding)
