"""Arrays over many devices: placing them (``device_put``, ``make_array_from_*``,
``reshard``), ``shard_map`` with its collectives, and ``pmap``.

Devices of one process are simulated: an array's buffer holds all of it, and each shard is
a view tagged with its device (``Array.addressable_shards``). ``shard_map`` runs its body
as nested named ``vmap``s, one per mesh axis, over the devices' blocks: the collectives are
vmap's named-axis rules (``lax/parallel.py``), so the body composes with ``jit``, ``grad``,
``vmap`` and ``scan`` with no rule of its own, and one call costs one vectorized program
rather than a loop over devices. Each vmap's trace carries a ``Spmd`` record: the axis's
size over the whole mesh, this process's first position on it, JAX's varying-manual-axes
type check (``check_vma``: a value the trace does not batch is invariant along the axis)
and the communicator to the members other processes run (``distributed.py``).
"""
from __future__ import annotations

import functools
import inspect
import math

import numpy as np

from pyjax._src import backends, tree_util, util
from pyjax._src.config import config
from pyjax._src.backends import sharding as shd
from pyjax._src.core import array as array_module
from pyjax._src.core.array import Array
from pyjax._src.core.trace import Tracer, get_aval, to_array
from pyjax._src.lax import broadcasting as bc, shape as lax_shape, structural
from pyjax._src.transforms.batching import Spmd, batch_flat, varying_axes
from pyjax._src.transforms.jit import jit

P = shd.PartitionSpec


# ---------------------------------------------------------------------------- placing arrays

def _as_sharding(target, what: str):
    """A Device, a Sharding, or a PartitionSpec over the current mesh, as a Sharding."""
    if isinstance(target, backends.Device):
        return shd.SingleDeviceSharding(target)
    if isinstance(target, shd.Sharding):
        return target
    if isinstance(target, shd.PartitionSpec):
        mesh = shd.current_mesh()
        if mesh is None:
            raise ValueError(f"{what}: a PartitionSpec {target!r} needs a mesh: use "
                             f"jax.sharding.NamedSharding or jax.set_mesh")
        return shd.NamedSharding(mesh, target)
    raise TypeError(f"{what}: expected a Device, Sharding or PartitionSpec, got {target!r}")


def place(x, sharding):
    """``x`` (an Array) laid out by ``sharding``: the same buffer, retagged."""
    if isinstance(sharding, shd.NamedSharding):
        sharding.check_shape(x.shape)
    return array_module.with_sharding(x, sharding)


def _leaf_targets(targets, tree, what: str) -> list:
    """One target per leaf of ``tree`` (``targets`` a single target or a tree prefix)."""
    is_leaf = lambda t: t is None or isinstance(  # noqa: E731
        t, (backends.Device, shd.Sharding, shd.PartitionSpec))
    if is_leaf(targets):
        return [targets] * len(tree_util.tree_leaves(tree))
    flat, prefix = tree_util.tree_flatten(targets, is_leaf=is_leaf)
    try:
        subtrees = prefix.flatten_up_to(tree)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{what}: the shardings must be a tree prefix of the value, got "
                         f"{targets!r} for {tree_util.tree_structure(tree)}") from e
    return [t for t, sub in zip(flat, subtrees) for _ in tree_util.tree_leaves(sub)]


def device_put(x, device=None, *, src=None, donate=False, may_alias=None):
    """``x``'s leaves as Arrays placed on ``device``: a Device, a Sharding, a
    PartitionSpec (over the mesh ``jax.set_mesh`` set), or a tree prefix of them; copies
    where ``may_alias=False``. Under a trace it binds ``device_put`` (constraining nothing
    here); eagerly, Arrays already placed come back themselves, as in JAX."""
    leaves, tree = tree_util.tree_flatten(x)
    copy = (structural.CopySemantics.DONATE_INPUT if donate else
            structural.CopySemantics.ALWAYS_COPY if may_alias is False else
            structural.CopySemantics.REUSE_INPUT)
    if any(isinstance(leaf, Tracer) for leaf in leaves):
        n = len(leaves)
        arrays = [to_array(v, "device_put", explicit=True) for v in leaves]
        outs = structural.device_put_p.bind(*arrays, devices=(device,) * n, srcs=(src,) * n,
                                            copy_semantics=(copy,) * n)
        return tree_util.tree_unflatten(tree, outs)
    targets = _leaf_targets(device, x, "device_put")
    out = []
    for leaf, target in zip(leaves, targets):
        leaf = leaf if isinstance(leaf, Array) else to_array(leaf, "device_put", explicit=True)
        if copy is structural.CopySemantics.ALWAYS_COPY:
            leaf = structural.device_put_p.bind(leaf, devices=(None,), srcs=(None,),
                                                copy_semantics=(copy,))[0]
        out.append(leaf if target is None else place(leaf, _as_sharding(target, "device_put")))
    return tree_util.tree_unflatten(tree, out)


def reshard(x, out_shardings):
    """``x`` laid out by ``out_shardings`` (a Sharding or PartitionSpec, or a tree of them)
    over a mesh whose named axes are ``Explicit``, as JAX requires."""
    for target in _leaf_targets(out_shardings, x, "reshard"):
        spec, mesh = ((target.spec, target.mesh) if isinstance(target, shd.NamedSharding) else
                      (target, shd.current_mesh()) if isinstance(target, shd.PartitionSpec) else
                      (None, None))
        for axis in (spec.mesh_axes() if spec is not None and mesh is not None else ()):
            kind = dict(zip(mesh.axis_names, mesh.axis_types)).get(axis)
            if kind is not None and kind != shd.AxisType.Explicit:
                raise ValueError(f"PartitionSpec passed to reshard cannot contain axis names "
                                 f"that are of type Auto or Manual. Got PartitionSpec: {spec!r} "
                                 f"with axis name: {axis} of type: AxisType.{kind.name}.")
    return tree_util.tree_map(_typed_spec, device_put(x, out_shardings))


def _typed_spec(x):
    """A resharded array's spec as the sharding in JAX's types writes it: one entry per
    dimension, without size-1 mesh axes under ``jax_remove_size_one_mesh_axis_from_type``."""
    placed = None if isinstance(x, Tracer) else x.sharding
    if not isinstance(placed, shd.NamedSharding):
        return x
    spec = _without_size_one(placed.spec, placed.mesh)
    return place(x, shd.NamedSharding(placed.mesh, P(*spec, *[None] * (x.ndim - len(spec)))))


def _assemble(global_shape, sharding, piece_for, what: str) -> Array:
    """The array whose addressable devices hold ``piece_for(device, index)``; the pieces
    must have the shard shape and agree where devices hold the same index."""
    global_shape = tuple(global_shape)
    indices = sharding.devices_indices_map(global_shape)
    local = set(backends.local_devices())
    buf = None
    for device, index in indices.items():
        if device not in local:
            continue
        piece = np.asarray(piece_for(device, index))
        expected = tuple(len(range(*s.indices(n))) for s, n in zip(index, global_shape))
        if piece.shape != expected:
            raise ValueError(f"{what}: the data for device {device} has shape {piece.shape}, "
                             f"expected the shard shape {expected} of global shape "
                             f"{global_shape}")
        if buf is None:
            buf = np.zeros(global_shape, piece.dtype)
        buf[index] = piece
    if buf is None:
        raise ValueError(f"{what}: no addressable device in the sharding {sharding!r}")
    return place(array_module.from_numpy(buf), sharding)


def _mesh_typed(mesh, axes, kind):
    """``mesh`` with ``axes`` (all of them if None) of type ``kind``."""
    names = mesh.axis_names if axes is None else \
        ((axes,) if isinstance(axes, str) else tuple(axes))
    for a in names:
        if a not in mesh.axis_names:
            raise ValueError(f"Resource axis: {a} is not found in mesh: {mesh.axis_names}.")
    types = tuple(kind if n in names else t for n, t in zip(mesh.axis_names, mesh.axis_types))
    return shd.Mesh(mesh.devices, mesh.axis_names, types)


def _full_rank(sharding, x):
    """``sharding`` with its spec padded to ``x``'s rank (a type's sharding, as JAX's
    explicit axes report it)."""
    if not isinstance(sharding, shd.NamedSharding):
        return sharding
    pad = np.ndim(x) - len(sharding.spec)
    return shd.NamedSharding(sharding.mesh, P(*sharding.spec, *([None] * pad)))


def auto_axes(f=None, /, *, axes=None, out_sharding=None):
    """``f`` run with the mesh's ``axes`` (all if None) of type ``Auto``, its results laid
    out by ``out_sharding`` (Shardings or PartitionSpecs over the current mesh, or a tree
    prefix) where the mesh's axes are ``Explicit``, as in JAX. Devices are simulated: the
    values are ``f``'s, the layout a tag."""
    if f is None:
        return functools.partial(auto_axes, axes=axes, out_sharding=out_sharding)

    @util.wraps(f)
    def run(*args, **kwargs):
        if out_sharding is None:
            raise TypeError("Missing required keyword argument: 'out_sharding'")
        mesh = shd.current_mesh()
        if mesh is None:
            return f(*args, **kwargs)
        with shd.set_mesh(_mesh_typed(mesh, axes, shd.AxisType.Auto)):
            out = f(*args, **kwargs)
        if shd.AxisType.Explicit not in mesh.axis_types:
            return out
        leaves, tree = tree_util.tree_flatten(out)
        targets = _leaf_targets(out_sharding, out, "auto_axes")
        placed = [v if isinstance(v, Tracer) else place(
            to_array(v, "auto_axes"), _full_rank(_as_sharding(t, "auto_axes"), v))
            for v, t in zip(leaves, targets)]
        return tree_util.tree_unflatten(tree, placed)
    return run


def explicit_axes(f=None, /, *, axes=None, in_sharding=None):
    """``f`` run with the mesh's ``axes`` (all if None) of type ``Explicit``, its
    arguments laid out by ``in_sharding`` first. pyjax does not type shardings, so the
    results come back as ``f`` returns them (docs/scale-out.md, "Shardings of results")."""
    if f is None:
        return functools.partial(explicit_axes, axes=axes, in_sharding=in_sharding)

    @util.wraps(f)
    def run(*args, **kwargs):
        if in_sharding is None:
            raise TypeError("Missing required keyword argument: 'in_sharding'")
        mesh = shd.current_mesh()
        if mesh is None:
            raise ValueError("Context mesh cannot be empty. Please use `jax.set_mesh` API to "
                             "enter into a mesh context when using `explicit_axes` API.")
        typed = _mesh_typed(mesh, axes, shd.AxisType.Explicit)
        with shd.set_mesh(typed):
            leaves, tree = tree_util.tree_flatten(args)
            targets = _leaf_targets(in_sharding, args, "explicit_axes")
            placed = [v if isinstance(v, Tracer) else place(
                to_array(v, "explicit_axes"), _full_rank(_as_sharding(t, "explicit_axes"), v))
                for v, t in zip(leaves, targets)]
            return f(*tree_util.tree_unflatten(tree, placed), **kwargs)
    return run


def make_array_from_callback(shape, sharding, data_callback, dtype=None):
    """An array of global ``shape`` whose every addressable device's shard is
    ``data_callback(index)`` (``index``: a tuple of slices into the global array)."""
    out = _assemble(shape, sharding, lambda d, index: data_callback(index),
                    "make_array_from_callback")
    return out if dtype is None else place(out.astype(dtype), sharding)


def make_array_from_single_device_arrays(shape, sharding, arrays, *, dtype=None):
    """An array of global ``shape`` from one array per addressable device, in the order of
    ``sharding``'s device map."""
    arrays = list(arrays)
    local = [d for d in sharding.devices_indices_map(tuple(shape))
             if d in set(backends.local_devices())]
    if len(arrays) != len(local):
        raise ValueError(f"make_array_from_single_device_arrays: got {len(arrays)} arrays "
                         f"for {len(local)} addressable devices of {sharding!r}")
    by_device = dict(zip(local, arrays))
    return _assemble(shape, sharding, lambda d, index: by_device[d],
                     "make_array_from_single_device_arrays")


def make_array_from_process_local_data(sharding, local_data, global_shape=None):
    """A global array from this process's part of it (all of it in one process): each
    process passes the rows its devices hold, in process order."""
    local_data = np.asarray(local_data)
    if backends.PROCESSES.count == 1:
        shape = local_data.shape if global_shape is None else tuple(global_shape)
        if shape != local_data.shape:
            raise ValueError(f"make_array_from_process_local_data: local data of shape "
                             f"{local_data.shape} is not the global shape {shape} in one process")
        return place(array_module.from_numpy(local_data), sharding)
    return LOCAL_DATA[0](sharding, local_data, global_shape)


LOCAL_DATA = [None]  # (``distributed.py``'s multi-process form, installed by initialize)


# ---------------------------------------------------------------------------- pictures

def visualize_sharding(shape, sharding, *, use_color: bool = True, scale: float = 1.0,
                       min_width: int = 9, max_width: int = 80, color_map=None):
    """Print the box picture of how ``sharding`` splits an array of ``shape`` (rank 1 or 2;
    no colour: the picture is plain text)."""
    print(shd.sharding_picture(shape, sharding, scale=scale, min_width=min_width,
                               max_width=max_width))


def inspect_array_sharding(value, *, callback):
    """Call ``callback(sharding)`` for each array leaf of ``value``."""
    for leaf in tree_util.tree_leaves(value):
        if isinstance(leaf, Tracer):
            raise NotImplementedError("inspect_array_sharding of a traced value (under jit) "
                                      "is not supported")
        callback(to_array(leaf).sharding)


def visualize_array_sharding(arr, **kwargs):
    """Print how ``arr`` is split over devices, as JAX draws it."""
    inspect_array_sharding(arr, callback=lambda s: visualize_sharding(arr.shape, s, **kwargs))


# ---------------------------------------------------------------------------- shard_map

def _spec_leaves(specs, tree, what: str) -> list:
    """One PartitionSpec per leaf of ``tree`` (``specs`` a tree prefix; None means P())."""
    is_leaf = lambda s: s is None or isinstance(s, shd.PartitionSpec)  # noqa: E731
    flat, prefix = tree_util.tree_flatten(specs, is_leaf=is_leaf)
    try:
        subtrees = prefix.flatten_up_to(tree)
    except (ValueError, TypeError) as e:
        raise ValueError(f"shard_map {what} must be a tree prefix of the corresponding value, "
                         f"got {what}={specs!r} for {tree_util.tree_structure(tree)}") from e
    out = []
    for s, sub in zip(flat, subtrees):
        s = P() if s is None else s
        if not isinstance(s, shd.PartitionSpec):
            raise TypeError(f"shard_map {what} entries must be PartitionSpecs, got {s!r}")
        out.extend([s] * len(tree_util.tree_leaves(sub)))
    return out


def _check_axes(specs, manual: frozenset, what: str) -> None:
    for spec in specs:
        for axis in spec.mesh_axes():
            if axis not in manual:
                raise ValueError(f"shard_map {what} argument must refer to an axis marked as "
                                 f"manual ({manual}), but:\n\n  {what} refers to {axis!r}\n\n"
                                 f"Check the {what} values passed to shard_map.")


def _parts(mesh, spec, dim: int) -> int:
    return math.prod(mesh.shape[a] for a in spec.axes_of(dim))


def _arg_names(f, args) -> list:
    """For each leaf of ``args``, JAX's ``args[0]['a']`` and, for a whole positional
    argument, the sentence naming the parameter it is bound to."""
    try:
        params = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        params = []
    out = []
    for path, _ in tree_util.tree_flatten_with_path(args)[0]:
        where = "args" + tree_util.keystr(path)
        if len(path) == 1 and path[0].idx < len(params):
            name = getattr(f, "__name__", "function")
            where += f", where {where} is bound to {name}'s parameter '{params[path[0].idx]}',"
        out.append(where)
    return out


def _check_args(name, mesh, leaves, specs, arg_names, manual) -> None:
    """JAX's errors for specs too long for an argument's rank or splitting unevenly, and
    (every mesh axis manual, some ``Explicit``) for arguments placed otherwise than their
    spec."""
    mesh_line = (f"The mesh given has shape {mesh.axis_sizes} with corresponding axis names "
                 f"{mesh.axis_names}.")
    explicit = (manual == set(mesh.axis_names) and
                all(t == shd.AxisType.Explicit for t in mesh.axis_types))
    for i, (x, spec) in enumerate(zip(leaves, specs)):
        aval = get_aval(x)
        if len(spec) > aval.ndim:
            raise ValueError(f"shard_map applied to the function '{name}' was given an "
                             f"in_specs entry which is too long to be compatible with the "
                             f"corresponding input value: in_specs is {spec!r} which has length "
                             f"{len(spec)}, but args[{i}] has shape {_type_str(aval)}, which "
                             f"has rank {aval.ndim} (and {aval.ndim} < {len(spec)})")
        for d, size in enumerate(aval.shape):
            parts = _parts(mesh, spec, d)
            if size % parts:
                axes = spec.axes_of(d)
                where = (f"mesh axis {axes[0]!r} (of size {parts})" if len(axes) == 1 else
                         f"mesh axes {axes} (of total size {parts})")
                raise ValueError(
                    f"shard_map applied to the function '{name}' was given argument arrays "
                    f"with axis sizes that are not evenly divisible by the corresponding mesh "
                    f"axis sizes:\n\n{mesh_line}\n\nthe passed {arg_names[i].split(',')[0]} "
                    f"of shape {_type_str(aval)}{_where(arg_names[i])} corresponds to "
                    f"in_specs of value {spec!r}, which "
                    f"maps array axis {d} (of size {size}) to {where}, but {parts} does not "
                    f"evenly divide {size}\n\nArray arguments' axis sizes must be evenly "
                    f"divisible by the mesh axis or axes indicated by the corresponding "
                    f"elements of the argument's in_specs entry. Consider checking that "
                    f"in_specs are correct, and if so consider changing the mesh axis sizes "
                    f"or else padding the input and adapting '{name}' appropriately.")
        if explicit and isinstance(x, Array):
            placed = array_module.sharding_of(x)
            have = (placed.spec if isinstance(placed, shd.NamedSharding) and placed.mesh == mesh
                    else P(*([None] * aval.ndim)))
            if _trim(_without_size_one(have, mesh)) != _trim(_without_size_one(spec, mesh)):
                raise ValueError(
                    f"in_specs passed to shard_map: {spec!r} does not match the specs of the "
                    f"input: {have!r} for arg: {_type_str(aval)}. `in_specs` is an optional "
                    f"argument so you can omit specifying it and shard_map will infer the "
                    f"in_specs from the arguments. If you want to reshard your inputs, you can "
                    f"use `jax.reshard` on the arguments and then pass those args to shard_map.")


def _where(arg_name: str) -> str:
    return arg_name[arg_name.index(","):] if "," in arg_name else ""


def _type_str(aval) -> str:
    return f"{aval.dtype.name}[{','.join(map(str, aval.shape))}]"


def _trim(spec) -> tuple:
    parts = list(spec)
    while parts and parts[-1] is None:
        parts.pop()
    return tuple(parts)


def local_ranges(mesh) -> dict:
    """For each mesh axis, the (first, count) positions this process's devices cover; they
    must form a box of the mesh (each process a block along each axis)."""
    local = set(mesh.local_devices)
    if not local:
        raise ValueError(f"shard_map: no device of the mesh {mesh} belongs to this process")
    where = np.argwhere(np.vectorize(lambda d: d in local, otypes=[bool])(mesh.devices))
    lo, hi = where.min(axis=0), where.max(axis=0) + 1
    if math.prod(hi - lo) != len(local):
        raise NotImplementedError(f"shard_map: this process's devices must form a box of the "
                                  f"mesh {mesh}")
    return {a: (int(s), int(e - s)) for a, s, e in zip(mesh.axis_names, lo, hi)}


def _split(x, spec, mesh, ranges):
    """``x``'s blocks for this process's devices: shape (devices along each axis the spec
    uses, in mesh order) + the block shape."""
    shape, dims_of, new_shape = get_aval(x).shape, {}, []
    for d, size in enumerate(shape):
        for a in spec.axes_of(d):
            dims_of[a] = len(new_shape)
            new_shape.append(mesh.shape[a])
        new_shape.append(size // _parts(mesh, spec, d))
    x = bc.reshape(x, tuple(new_shape))
    for a, k in dims_of.items():
        first, count = ranges[a]
        if count != mesh.shape[a]:
            x = lax_shape.slice_in_dim(x, first, first + count, axis=k)
    front = [dims_of[a] for a in mesh.axis_names if a in dims_of]
    return bc.transpose(x, tuple(front + [k for k in range(len(new_shape)) if k not in front]))


def _join(o, spec, names, ranges):
    """The inverse of ``_split`` for a body output batched along every manual axis
    (``names``, leading, in mesh order): member 0's copy along the axes ``spec`` omits, the
    blocks side by side along the dimensions it splits."""
    used = spec.mesh_axes()
    for k in reversed(range(len(names))):
        if names[k] not in used:
            o = lax_shape.index_in_dim(o, 0, axis=k, keepdims=False)
    kept = [a for a in names if a in used]
    nd = get_aval(o).ndim - len(kept)
    perm, out_shape = [], []
    block = get_aval(o).shape[len(kept):]
    for d in range(nd):
        axes = spec.axes_of(d)
        perm += [kept.index(a) for a in axes] + [len(kept) + d]
        out_shape.append(block[d] * math.prod(ranges[a][1] for a in axes))
    return bc.reshape(bc.transpose(o, tuple(perm)), tuple(out_shape))


def _check_outputs(name, mesh, outs, specs, check_vma: bool, manual) -> None:
    for o, spec in zip(outs, specs):
        aval = get_aval(o)
        if len(spec) > aval.ndim:
            raise ValueError(
                f"shard_map applied to the function '{name}' was given an out_specs entry "
                f"which is too long to be compatible with the corresponding output value from "
                f"the function:\n\nout_specs is {spec!r} which has length {len(spec)}, but "
                f"{name}(*args) has shape {_type_str(aval)}, which has rank {aval.ndim} "
                f"(and {aval.ndim} < {len(spec)})\n\nEntries in out_specs must be of length no "
                f"greater than the number of axes in the corresponding output value.\n\n"
                f"Either revise the spec to be shorter, or modify '{name}' so that its outputs "
                f"have sufficient rank.\n\nFor scalar values (rank 0), consider using an "
                f"out_specs entry of `P()`, where `P = jax.sharding.PartitionSpec`. In "
                f"particular, for rank 0 outputs which are not constant over the mesh, add at "
                f"least one (singleton) axis to them so that they can be concatenated using "
                f"out_specs.")
        varying = (varying_axes(o) or set()) & manual if check_vma else set()
        missing = sorted(varying - set(spec.mesh_axes()), key=str)
        if missing:
            axes = ", ".join(repr(a) for a in missing)
            raise ValueError(
                f"shard_map applied to the function '{name}' was given out_specs which require "
                f"replication which can't be statically inferred given the mesh:\n\nThe mesh "
                f"given has shape {mesh.axis_sizes} with corresponding axis names "
                f"{mesh.axis_names}.\n\nout_specs is {spec!r} which implies that the "
                f"corresponding output value is replicated across mesh axis {axes}, but could "
                f"not infer replication over any axes\n\nCheck if these output values are "
                f"meant to be replicated over those mesh axes. If not, consider revising the "
                f"corresponding out_specs entries. If so, consider disabling the check by "
                f"passing the check_vma=False argument to `jax.shard_map`.")


def _mesh_or_current(mesh):
    mesh = shd.current_mesh() if mesh is None else mesh
    if mesh is None:
        raise ValueError("The context mesh cannot be empty. Use `jax.set_mesh(mesh)` to enter "
                         "into a mesh context")
    return mesh


def axis_group(mesh, axis, ranges):
    """The communicator joining this process to those holding the rest of ``axis`` (None
    when every member is here)."""
    if ranges[axis][1] == mesh.shape[axis]:
        return None
    return GROUP_FACTORY[0](mesh, axis, ranges)


def _no_groups(mesh, axis, ranges):
    raise RuntimeError(f"the mesh axis {axis!r} spans processes: call "
                       f"jax.distributed.initialize() first")


GROUP_FACTORY = [_no_groups]


def shard_map(f=None, /, *, out_specs, in_specs=None, mesh=None, axis_names=frozenset(),
              check_vma: bool = True):
    """Run ``f`` on each device's block of its arguments (split over the ``axis_names`` of
    ``mesh``, all by default, as ``in_specs`` says) and assemble its results as
    ``out_specs`` says; collectives inside ``f`` name those mesh axes. Along the other mesh
    axes each call sees whole arrays."""
    mapped = functools.partial(_shard_map, out_specs=out_specs, in_specs=in_specs, mesh=mesh,
                               axis_names=axis_names, check_vma=check_vma, for_smap=False)
    return mapped if f is None else mapped(f)


def _shard_map(f, *, out_specs, in_specs, mesh, axis_names, check_vma, for_smap):
    if not callable(f):
        raise TypeError(f"shard_map requires a callable for its first argument, but got {f} "
                        f"of type {type(f)}.")
    name = getattr(f, "__name__", "function")

    @util.wraps(f)
    def mapped(*args):
        m = _mesh_or_current(mesh)
        manual = _manual_axes(m, axis_names)
        names = [a for a in m.axis_names if a in manual]
        leaves, in_tree = tree_util.tree_flatten(args)
        leaves = [x if isinstance(x, (Array, Tracer)) else to_array(x, "shard_map")
                  for x in leaves]
        types = dict(zip(m.axis_names, m.axis_types))
        if in_specs is None and any(types[a] != shd.AxisType.Explicit for a in names):
            kinds = ", ".join(f"AxisType.{types[a].name}" for a in names)
            raise TypeError(f"in_axes was not specified when axis_name={manual} was of type "
                            f"{kinds}" if for_smap else
                            f"shard_map in_specs argument must be a pytree of "
                            f"`jax.sharding.PartitionSpec` instances, but it was `None` when "
                            f"axis_names={manual} are of type {kinds}")
        specs = (_inferred_specs(leaves, m, manual) if in_specs is None else
                 _spec_leaves(in_specs, args, "in_specs"))
        _check_axes(specs, manual, "in_specs")
        _check_axes(_specs_in(out_specs), manual, "out_specs")
        _check_args(name, m, leaves, specs, _arg_names(f, args), manual)
        ranges = local_ranges(m)
        groups = {a: axis_group(m, a, ranges) for a in names}
        _check_local(m, manual, ranges)
        blocks = [_split(_used_by_all(x, s, groups), s, m, ranges)
                  for x, s in zip(leaves, specs)]
        out_tree, out_spec_leaves, varying = [], [], []

        def body(*flat):
            out = f(*tree_util.tree_unflatten(in_tree, list(flat)))
            outs, tree = tree_util.tree_flatten(out)
            outs = [to_array(o, "shard_map") for o in outs]
            out_tree.append(tree)
            out_spec_leaves[:] = _spec_leaves(out_specs, out, "out_specs")
            _check_outputs(name, m, outs, out_spec_leaves, check_vma, manual)
            varying[:] = [varying_axes(o) if check_vma else None for o in outs]
            return outs

        outs = _over_axes(body, blocks, specs, m, names, ranges, check_vma, groups)
        joined = [_first_copy(_join(o, s, names, ranges), s, groups, v)
                  for o, s, v in zip(outs, out_spec_leaves, varying)]
        joined = [_placed_result(o, _partial_spec(s, m, manual, o), m, ranges)
                  for o, s in zip(joined, out_spec_leaves)]
        return tree_util.tree_unflatten(out_tree[-1], joined)
    return mapped


def _manual_axes(mesh, axis_names) -> frozenset:
    """The mesh axes the map splits over: ``axis_names``, or every axis when empty."""
    if not isinstance(axis_names, (set, frozenset)):
        raise TypeError(f"`axis_names` argument of shard_map should be of type `frozenset` or "
                        f"`set`. Got type: {type(axis_names)}")
    every = frozenset(mesh.axis_names)
    manual = frozenset(axis_names) or every
    if not manual <= every:
        raise ValueError(f"jax.shard_map requires axis_names={manual} to be a subset of "
                         f"mesh.axis_names={every}")
    return manual


def _partial_spec(spec, mesh, manual, o):
    """A result's spec: ``spec``, one entry per dimension where some mesh axes stay
    ``Explicit`` outside the map (the sharding JAX's types give it: split along no other
    axis, as pyjax's types do not record one)."""
    if manual == set(mesh.axis_names) or shd.AxisType.Explicit not in mesh.axis_types:
        return spec
    return P(*spec, *[None] * (get_aval(o).ndim - len(spec)))


def _check_local(mesh, manual, ranges) -> None:
    for a, (_, count) in ranges.items():
        if a not in manual and count != mesh.shape[a]:
            raise NotImplementedError(f"shard_map: the mesh axis {a!r} is not in axis_names "
                                      f"and spans processes (partial manual axes across "
                                      f"processes)")


def _without_size_one(spec, mesh):
    """``spec`` without mesh axes of size 1 where ``jax_remove_size_one_mesh_axis_from_type``
    is set (else itself)."""
    if not config.jax_remove_size_one_mesh_axis_from_type:
        return spec
    out = []
    for e in spec:
        if isinstance(e, tuple):
            e = tuple(a for a in e if mesh.shape[a] != 1)
        elif e is not None and e != P.UNCONSTRAINED and mesh.shape[e] == 1:
            e = None
        out.append(e)
    return P(*out)


class InferFromArgs:
    """``smap``'s default ``in_axes``: each argument's own placement on the mesh (its axes
    must be ``Explicit``)."""

    def __repr__(self):
        return "jax.sharding.Infer"


Infer = InferFromArgs()


def smap(f=None, /, *, in_axes=Infer, out_axes, axis_name):
    """``shard_map`` over the one mesh axis ``axis_name`` (of the current mesh), with the
    split written as ``vmap``-style axes: ``in_axes``/``out_axes`` entries ``k`` mean
    ``P(None, ..., axis_name)`` with ``k`` Nones, None means ``P()``."""
    if isinstance(axis_name, (list, tuple)):
        raise TypeError(f"smap axis_name should be a `str` or a `Hashable`, but got {axis_name}")
    if in_axes is not None and in_axes is not Infer and not isinstance(in_axes, (int, tuple)):
        raise TypeError(f"smap in_axes must be an int, None, jax.sharding.Infer, or a tuple of "
                        f"entries corresponding to the positional arguments passed to the "
                        f"function, but got {in_axes}.")
    if in_axes is not Infer and not all(isinstance(a, int) for a in tree_util.tree_leaves(in_axes)):
        raise TypeError(f"smap in_axes must be an int, None, jax.sharding.Infer, or (nested) "
                        f"container with those types as leaves, but got {in_axes}.")
    if not all(isinstance(a, int) for a in tree_util.tree_leaves(out_axes)):
        raise TypeError(f"smap out_axes must be an int, None, or (nested) container with those "
                        f"types as leaves, but got {out_axes}.")
    as_spec = functools.partial(_axis_spec, axis_name)
    specs = dict(out_specs=tree_util.tree_map(as_spec, out_axes, is_leaf=lambda a: a is None),
                 in_specs=(None if in_axes is Infer else
                           tree_util.tree_map(as_spec, in_axes, is_leaf=lambda a: a is None)))
    smapped = functools.partial(_shard_map, mesh=None, axis_names=frozenset({axis_name}),
                                check_vma=True, for_smap=True, **specs)
    return smapped if f is None else smapped(f)


def _axis_spec(axis_name, axis):
    """JAX's spec for a vmap-style axis (a negative one, as in JAX, splits dimension 0)."""
    return P() if axis is None else P(*[None] * axis, axis_name)


def _specs_in(tree) -> list:
    return [s for s in tree_util.tree_leaves(tree, is_leaf=lambda s: isinstance(
        s, shd.PartitionSpec)) if isinstance(s, shd.PartitionSpec)]


def _inferred_specs(leaves, mesh, manual) -> list:
    """in_specs left out: each argument's own spec on ``mesh`` (P() if placed otherwise),
    keeping only the manual axes."""
    specs = []
    for x in leaves:
        if isinstance(x, Tracer):
            raise NotImplementedError(
                "shard_map/smap inferring in_specs from a traced argument (under jit, grad "
                "or vmap): pyjax's types carry no sharding; pass in_specs (in_axes) instead")
        placed = array_module.sharding_of(x) if isinstance(x, Array) else None
        spec = (placed.spec if isinstance(placed, shd.NamedSharding) and placed.mesh == mesh
                else P())
        specs.append(_manual_spec(spec, manual))
    return specs


def _manual_spec(spec, manual):
    out = []
    for e in spec:
        if isinstance(e, tuple):
            kept = [a if a in manual else None for a in e]
            while kept and kept[-1] is None:
                kept.pop()
            if None in kept:
                raise ValueError(f"Invalid spec: {spec!r}")
            e = tuple(kept) or None
        elif e is not None and e not in manual:
            e = None
        out.append(e)
    return P(*out)


def _first_copy(o, spec, groups, varying):
    """An output replicated along mesh axes spanning processes: the first process's copy
    (each process took its own first member's)."""
    for a, group in groups.items():
        if group is not None and a not in spec.mesh_axes():
            o = group.first(o, invariant=varying is not None and a not in varying)
    return o


def _used_by_all(x, spec, groups):
    """An input replicated along mesh axes that span processes, marked as used by each of
    them (``process_pvary``: its cotangents are summed over the processes)."""
    for a, group in groups.items():
        if group is not None and a not in spec.mesh_axes():
            x = group.pvary(x)
    return x


def _over_axes(body, blocks, specs, mesh, names, ranges, check_vma, groups):
    """``body`` under one named vmap per manual axis (``names``, outermost first); every
    output comes back batched along each, leading in mesh order."""

    def level(k, xs):
        if k == len(names):
            return body(*xs)
        a = names[k]
        first, count = ranges[a]
        spmd = Spmd(mesh.shape[a], first, check_vma, groups[a])
        dims = [0 if a in s.mesh_axes() else None for s in specs]
        outs, out_dims = batch_flat(lambda *v: level(k + 1, list(v)), xs, dims, count, a, spmd)
        return [bc.moveaxis(o, d, 0, count) for o, d in zip(outs, out_dims)]
    return level(0, blocks)


def _placed_result(o, spec, mesh, ranges):
    """A concrete result laid out as ``spec`` over ``mesh``; a block of a mesh spanning
    processes goes to its place in the global array (``distributed.py``)."""
    if isinstance(o, Tracer):
        return o
    if any(ranges[a][1] != mesh.shape[a] for a in spec.mesh_axes()):
        return GLOBAL_FROM_BLOCK[0](o, shd.NamedSharding(mesh, spec), ranges)
    return place(o, shd.NamedSharding(mesh, spec))


def _no_global(o, sharding, ranges):
    raise RuntimeError("shard_map over a mesh spanning processes needs "
                       "jax.distributed.initialize()")


GLOBAL_FROM_BLOCK = [_no_global]


# ---------------------------------------------------------------------------- pmap

def pmap(fun, axis_name=None, *, in_axes=0, out_axes=0, static_broadcasted_argnums=(),
         devices=None, backend=None, axis_size=None, donate_argnums=()):
    """``fun`` mapped over the leading axis of its arguments, one member per device: the
    thin wrapper JAX now makes of it, here a jitted named ``vmap`` (``check_vma=False``:
    pmap's old typing; traced once per signature, as in JAX) whose result is placed one
    slice per device. Static arguments are passed to ``fun`` as they are (every member sees
    the same); keyword arguments are mapped over their leading axis, as in JAX. Donation
    frees nothing here (buffers are host memory the caller keeps)."""
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun!r}")
    if devices is not None:
        devices = list(devices)
        if not devices:
            raise ValueError("'devices' argument to pmap must be non-empty, or None.")
    for what, axes in (("in_axes", in_axes), ("out_axes", out_axes)):
        if not all(type(a) is int for a in tree_util.tree_leaves(axes)):
            raise TypeError(f"pmap {what} must be an int, None, or (nested) container with "
                            f"those types as leaves, but got {axes}.")
    static = _index_tuple(static_broadcasted_argnums)
    backends.check_backend(backend)
    from_devices = devices if devices is not None else backends.local_devices()
    name = axis_name if axis_name is not None else object()
    axis = axis_name if axis_name is not None else "_internal_pmap_axis_name"

    def bound(args, kwargs):
        """``fun`` with its static arguments bound, the mapped arguments, their axes, and
        the mapped size."""
        f, dyn_args, dyn_in_axes = _static_bound(fun, static, args, in_axes)
        dyn = (tuple(dyn_args), kwargs)
        dims = _pmap_axes(dyn_in_axes, dyn_args) + [0] * len(tree_util.tree_leaves(kwargs))
        return f, dyn, dims, _pmap_size(dyn, dims, from_devices, axis, axis_size)

    def traced(*args, **kwargs):
        f, dyn, dims, size = bound(args, kwargs)
        return _pmap_vmap(lambda a, k: f(*a, **k), dims, out_axes, name, size)(*dyn)[0]

    jitted = jit(traced, static_argnums=static)

    @util.wraps(fun)
    def mapped(*args, **kwargs):
        outs = jitted(*args, **kwargs)
        line = _device_line(from_devices[:bound(args, kwargs)[3]], axis)
        leaves, tree = tree_util.tree_flatten(outs)
        axes = tree_util.broadcast_prefix(out_axes, outs, "pmap out_axes")
        return tree_util.tree_unflatten(tree, [o if isinstance(o, Tracer) else place(
            o, shd.NamedSharding(line, P() if a is None else P(*[None] * (a % o.ndim), axis)))
            for o, a in zip(leaves, axes)])
    mapped.lower, mapped.trace = jitted.lower, jitted.trace
    return mapped


def _pmap_size(dyn, dims, devices, axis, axis_size) -> int:
    """The size of pmap's mapped axis, with JAX's errors for arguments of too low a rank,
    no mapped argument, a mismatched ``axis_size`` and too few devices."""
    leaves = tree_util.tree_leaves(dyn)
    for x, a in zip(leaves, dims):
        if a is not None and not -np.ndim(x) <= a < np.ndim(x):
            raise ValueError(f"pmap was requested to map its argument along axis {a}, "
                             f"which implies that its rank should be at least "
                             f"{a + 1 if a >= 0 else -a}, but is only {np.ndim(x)} (its "
                             f"shape is {np.shape(x)})")
    first = next(((x, a) for x, a in zip(leaves, dims)
                  if a is not None and hasattr(x, "shape")), None)
    if first is None:
        raise ValueError("pmap requires at least one argument with a mapped axis.")
    size = np.shape(first[0])[first[1]]
    if backends.PROCESSES.count == 1 and axis_size is not None and axis_size != size:
        raise ValueError(f"Specified axis_size {axis_size} doesn't match received "
                         f"axis_size {size}.")
    if size > len(devices):
        _too_few_devices(first, devices, axis)
    return size


def _device_line(devices, axis) -> shd.Mesh:
    grid = np.empty(len(devices), dtype=object)
    grid[:] = devices
    return shd.Mesh(grid, (axis,))


def _too_few_devices(first, devices, axis) -> None:
    """JAX's error for a mapped axis longer than the devices: its mesh is every device,
    which the first mapped argument must split evenly."""
    x, a = first
    a %= np.ndim(x)
    spec = P(*([None] * a + [axis]))
    shd.NamedSharding(_device_line(devices, axis), spec).check_shape(np.shape(x))
    raise ValueError(f"pmap: a mapped axis of size {np.shape(x)[a]} over {len(devices)} "
                     f"devices (one member per device)")


def _index_tuple(argnums) -> tuple:
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _static_bound(fun, static: tuple, args: tuple, in_axes):
    """``fun`` with the static positional arguments bound, the dynamic ones, and their
    in_axes (a tuple of in_axes counts every positional argument, as in JAX)."""
    if not static:
        return fun, args, in_axes
    if max(static) >= len(args):
        raise ValueError(f"pmapped function has static_broadcasted_argnums={static} but was "
                         f"called with only {len(args)} positional "
                         f"argument{'s' if len(args) > 1 else ''}. All static broadcasted "
                         f"arguments must be passed positionally.")
    fixed = {i % len(args): args[i] for i in static}
    dyn = [i for i in range(len(args)) if i not in fixed]

    def bound(*dyn_args, **kwargs):
        full = list(dyn_args)
        for i in sorted(fixed):
            full.insert(i, fixed[i])
        return fun(*full, **kwargs)
    dyn_in_axes = tuple(in_axes[i] for i in dyn) if isinstance(in_axes, tuple) else in_axes
    return bound, [args[i] for i in dyn], dyn_in_axes


def _pmap_axes(in_axes, args) -> list:
    """One mapped axis (or None) per leaf of ``args``: ``in_axes`` an int, None, or a
    tuple with a tree prefix of each argument."""
    if isinstance(in_axes, int) or in_axes is None:
        return [in_axes] * len(tree_util.tree_leaves(args))
    in_axes = tuple(in_axes)
    if len(in_axes) != len(args):
        raise ValueError(f"pmap in_axes specification must be a tree prefix of the "
                         f"corresponding value, got specification {in_axes} for value tree "
                         f"{tree_util.tree_structure(tuple(args))}.")
    return [d for spec, arg in zip(in_axes, args)
            for d in tree_util.broadcast_prefix(spec, arg, "pmap in_axes")]


def _pmap_vmap(fun, dims, out_axes, name, size):
    """vmap whose axis is a shard_map-style axis without type checks (``dims``: one
    mapped axis or None per leaf of the arguments); returns the outputs and their axes, one
    per leaf (``out_axes`` a tree prefix of the outputs; None: the first member's value)."""
    def run(*args):
        leaves, tree = tree_util.tree_flatten(args)
        leaves = [to_array(x, "pmap") for x in leaves]
        out_tree = []

        def flat(*xs):
            out = fun(*tree_util.tree_unflatten(tree, list(xs)))
            outs, t = tree_util.tree_flatten(out)
            out_tree.append(t)
            return [to_array(o, "pmap") for o in outs]
        in_dims = [None if d is None else d % get_aval(x).ndim for x, d in zip(leaves, dims)]
        outs, out_dims = batch_flat(flat, leaves, in_dims, size, name, Spmd(size, 0, False))
        axes = tree_util.broadcast_prefix(
            out_axes, tree_util.tree_unflatten(out_tree[-1], outs), "pmap out_axes")
        outs = [bc.moveaxis(o, d, a, size) if a is not None else o if d is None
                else lax_shape.index_in_dim(o, 0, d, keepdims=False)  # as check_vma=False
                for o, d, a in zip(outs, out_dims, axes)]
        return tree_util.tree_unflatten(out_tree[-1], outs), axes
    return run
