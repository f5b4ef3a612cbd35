"""docs/api-coverage.md: every public name of JAX 0.10.2's modules, and whether pyjax has it.

The page is generated, never edited: this test rebuilds it and fails when the committed page
differs, so a coverage number can only be read off the code. Regenerate it with
``make coverage`` (``PYJAX_WRITE_COVERAGE=1 pytest tests/test_api_coverage.py``).

JAX's names are read in a fresh interpreter (``dir()`` of a module depends on which of its
submodules other code has imported), importing the modules in the order of ``MODULES``.
A public name is one without a leading underscore, except modules that are not the
module's own submodules (``stax.jnp``) and objects from the standard library
(``optimizers.NamedTuple``): those are imports, not API. pyjax has a name when its matching
module (``jax`` -> ``pyjax``) has the attribute after the same imports; a pyjax module that
does not exist has none.
"""
from __future__ import annotations

import importlib
import json
import os
import pathlib
import subprocess
import sys
import types

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "api-coverage.md"
REGENERATE = "make coverage  (or: PYJAX_WRITE_COVERAGE=1 pytest tests/test_api_coverage.py)"

_STATS = ["bernoulli", "beta", "betabinom", "binom", "cauchy", "chi2", "dirichlet", "expon",
          "gamma", "gennorm", "geom", "gumbel_l", "gumbel_r", "laplace", "logistic",
          "multinomial", "multivariate_normal", "nbinom", "norm", "pareto", "poisson", "t",
          "truncnorm", "uniform", "vonmises", "wrapcauchy"]

# The JAX modules covered (issues 12, 13 and 14), in import order.
MODULES = [
    "jax", "jax.numpy", "jax.numpy.linalg", "jax.numpy.fft", "jax.lax", "jax.lax.linalg",
    "jax.nn", "jax.nn.initializers", "jax.tree", "jax.tree_util", "jax.random",
    "jax.scipy", "jax.scipy.special", "jax.scipy.linalg", "jax.scipy.stats",
    *[f"jax.scipy.stats.{d}" for d in _STATS],
    "jax.scipy.optimize", "jax.scipy.signal", "jax.scipy.fft", "jax.scipy.integrate",
    "jax.scipy.interpolate", "jax.scipy.ndimage", "jax.scipy.spatial.transform",
    "jax.scipy.cluster.vq", "jax.scipy.sparse.linalg",
    "jax.debug", "jax.dtypes", "jax.errors", "jax.typing", "jax.flatten_util",
    "jax.test_util", "jax.experimental", "jax.experimental.checkify", "jax.stages", "jax.profiler", "jax.ops", "jax.image",
    "jax.custom_batching", "jax.custom_derivatives", "jax.dlpack",
    "jax.sharding", "jax.distributed", "jax.ref",
    "jax.example_libraries.stax", "jax.example_libraries.optimizers",
    "jax.extend", "jax.extend.core", "jax.extend.linear_util", "jax.extend.source_info_util",
    "jax.interpreters", "jax.interpreters.ad", "jax.interpreters.batching",
    "jax.interpreters.partial_eval", "jax.api_util", "jax.experimental.layout",
    "jax.experimental.hijax", "jax.experimental.mesh_utils",
]

# Names that cannot apply to a NumPy-compiled, single-host system: left out of the counts.
NOT_APPLICABLE = {
    "jax.ffi": "XLA's foreign-function interface for C++ custom calls; pyjax compiles to "
               "Python/NumPy, not XLA",
    "jax.lib": "jaxlib, the compiled XLA extension itself",
    "jax.jax2tf_associative_scan_reductions": "a flag of jax2tf (export to TensorFlow), "
                                              "which pyjax does not have",
    "jax.export": "serializes StableHLO modules for other XLA runtimes; pyjax compiles to "
                  "Python/NumPy and has no portable IR to export",
    "jax.interpreters.pxla": "XLA's multi-device executables",
    "jax.interpreters.xla": "XLA's compiled computations",
    "jax.extend.backend": "XLA's backends and compilers",
    "jax.extend.mlir": "MLIR itself",
    "jax.extend.lowering": "MLIR lowering internals", "jax.extend.pallas": "Pallas kernels "
    "(GPU/TPU)", "jax.extend.xla": "XLA internals",
}

# Names that apply but belong to the multi-device issue (meshes, sharding, collectives,
# processes): counted as missing until issue 15 lands; marked on the page.
_ISSUE_15 = {
    "jax": ["NamedSharding", "P", "Shard", "make_mesh", "set_mesh", "shard_map", "smap",
            "sharding", "pmap", "reshard", "distributed", "make_array_from_callback",
            "make_array_from_process_local_data", "make_array_from_single_device_arrays",
            "process_indices", "host_count", "host_id", "host_ids",
            "remove_size_one_mesh_axis_from_type", "auto_pcast"],
    "jax.lax": ["all_gather", "all_gather_p", "all_to_all", "all_to_all_p", "axis_index",
                "axis_index_p", "axis_size", "pbroadcast", "pcast", "pmax", "pmax_p",
                "pmean", "pmin", "pmin_p", "ppermute", "ppermute_p", "precv", "psend",
                "pshuffle", "psum", "psum_p", "psum_scatter", "pswapaxes",
                "ragged_all_to_all", "ragged_all_to_all_p", "sharding_constraint_p",
                "with_sharding_constraint"],
    "jax.debug": ["inspect_array_sharding", "visualize_array_sharding", "visualize_sharding"],
    "jax.sharding": ["AbstractDevice", "AbstractMesh", "ManualAxisType", "auto_axes",
                     "explicit_axes", "use_abstract_mesh"],
}
MULTI_DEVICE = {f"{m}.{n}" for m, names in _ISSUE_15.items() for n in names}


def _is_api(module: types.ModuleType, name: str) -> bool:
    """Whether a public-looking attribute is the module's API rather than an import: not
    another package's module, and not an object the standard library binds to that name."""
    value = getattr(module, name)
    if isinstance(value, types.ModuleType):
        return value.__name__.startswith(module.__name__ + ".")
    origin = getattr(value, "__module__", None)
    if not isinstance(origin, str) or origin.split(".")[0] not in sys.stdlib_module_names:
        return True
    return getattr(sys.modules.get(origin), name, None) is not value


def public_names(module: types.ModuleType) -> list[str]:
    return [n for n in dir(module) if not n.startswith("_") and _is_api(module, n)]


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def collect() -> dict[str, dict[str, bool]]:
    """module -> {JAX public name: pyjax has it}. Run in a fresh interpreter."""
    jax_names = {m: public_names(importlib.import_module(m)) for m in MODULES}
    ours = {m: _import("py" + m) for m in MODULES}
    return {m: {n: ours[m] is not None and hasattr(ours[m], n) for n in names}
            for m, names in jax_names.items()}


def _collect_fresh() -> dict[str, dict[str, bool]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", "import test_api_coverage as t, json; "
                          "print(json.dumps(t.collect()))"],
                         capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    return json.loads(out.stdout.splitlines()[-1])


def _names(names, module) -> str:
    marked = [f"`{n}`" + (" (15)" if f"{module}.{n}" in MULTI_DEVICE else "") for n in names]
    return ", ".join(marked) if marked else "none"


def _section(module: str, have: dict[str, bool]) -> tuple[int, int, str, str]:
    """The module's counts (present, applicable), summary-table row and section of names."""
    applies = {n: ok for n, ok in have.items() if f"{module}.{n}" not in NOT_APPLICABLE}
    present = [n for n, ok in applies.items() if ok]
    missing = [n for n, ok in applies.items() if not ok]
    na = [n for n in have if n not in applies]
    anchor = module.replace(".", "")
    row = f"| [`{module}`](#{anchor}) | {len(present)} / {len(applies)} | {len(missing)} | {len(na)} |"
    body = [f"## {module}", "", f"{len(present)} of {len(applies)} names.", "",
            f"Present ({len(present)}): {_names(present, module)}", "",
            f"Missing ({len(missing)}): {_names(missing, module)}", ""]
    if na:
        body += [f"Cannot apply ({len(na)}): {_names(na, module)}", ""]
    return len(present), len(applies), row, "\n".join(body)


def render(coverage: dict[str, dict[str, bool]]) -> str:
    sections = [_section(m, coverage[m]) for m in MODULES]
    present = sum(s[0] for s in sections)
    total = sum(s[1] for s in sections)
    head = [
        "# API coverage: pyjax against JAX 0.10.2", "",
        "Generated by `tests/test_api_coverage.py` from `dir()` of JAX 0.10.2's modules; do not "
        "edit. The test fails when this page is stale; regenerate it with `make coverage`.", "",
        f"**{present} of {total} names present** (names that cannot apply left out). "
        "Names marked (15) are multi-device (meshes, sharding, collectives, processes), "
        "covered by issue 15.", "",
        "| module | present | missing | cannot apply |", "|---|---|---|---|",
        *[s[2] for s in sections], "",
        "## Names that cannot apply", "", "| name | reason |", "|---|---|",
        *[f"| `{n}` | {why} |" for n, why in sorted(NOT_APPLICABLE.items())], "",
    ]
    return "\n".join(head + [s[3] for s in sections])


def test_not_applicable_and_multi_device_names_are_jax_names():
    """Every listed name is a real JAX name, so the lists cannot rot silently."""
    for full in [*NOT_APPLICABLE, *MULTI_DEVICE]:
        module, name = full.rsplit(".", 1)
        assert name in public_names(importlib.import_module(module)), full


def test_coverage_page_is_current():
    page = render(_collect_fresh())
    if os.environ.get("PYJAX_WRITE_COVERAGE"):
        PAGE.write_text(page)
    committed = PAGE.read_text() if PAGE.exists() else ""
    assert committed == page, f"docs/api-coverage.md is stale; regenerate it: {REGENERATE}"
