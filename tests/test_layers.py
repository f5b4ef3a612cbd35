"""The import layering of ``src/pyjax``, checked by reading every module's syntax tree.

Layers, lowest first: base (``_src/config.py``, ``dtypes.py``, ``tree_util.py``,
``errors.py``, ``_src/util.py``; a package's ``util.py`` is in its package's layer) <
``core`` < ``backends`` < ``compiler`` < ``transforms`` < ``lax`` (with
``custom_derivatives.py``) < {``numpy``, ``nn``, ``random``, ``scipy``} < ``api`` < the public
modules (everything outside ``_src``). A module imports only from its own layer or lower
ones, and lax never imports the compiler. On top of that: no cycle among module-level
imports (within a layer too), no pyjax import inside a function (that is how a cycle gets
dodged; restructure instead), and no private name used across modules (``from m import
_x`` or ``m._x`` on an imported module; dunder names are fine).

Importing ``pkg.mod`` also runs ``pkg/__init__.py``; the scan counts only the module named,
so a package's ``__init__`` may import its own modules. Imports under ``if TYPE_CHECKING:``
never run: they count for the layer rule but not for cycles.
"""
from __future__ import annotations

import ast
import pathlib
from dataclasses import dataclass

ROOT = pathlib.Path(__file__).resolve().parents[1] / "src"

LAYERS = ["base", "core", "backends", "compiler", "transforms", "lax",
          "numpy/nn/random", "api", "public"]
_PACKAGE_LAYERS = {"core": "core", "backends": "backends", "compiler": "compiler",
                   "transforms": "transforms", "lax": "lax", "numpy": "numpy/nn/random",
                   "nn": "numpy/nn/random", "random": "numpy/nn/random",
                   "scipy": "numpy/nn/random", "extend": "api"}
_MODULE_LAYERS = {"config": "base", "dtypes": "base", "tree_util": "base", "errors": "base",
                  "util": "base", "profiler": "base", "ops": "numpy/nn/random",
                  "image": "numpy/nn/random", "custom_batching": "lax", "dlpack": "base",
                  "monitoring": "base", "custom_derivatives": "lax", "api": "api",
                  "api_extras": "api", "state": "numpy/nn/random", "test_util": "api",
                  "jax_alias": "base", "jaxpr_graph": "api", "spmd": "api", "distributed": "api",
                  "checkify": "api", "release": "base"}

# Imports made where they are used on purpose, each with its reason (not a dodged cycle).
LAZY: dict[tuple[str, str], str] = {
    ("pyjax._src.backends.cpu.native", "pyjax._src.backends.cpu.native_kernels"):
        "Numba is optional, and importing it costs ~65 MB and ~0.1 s: only a hot kernel pays",
}


@dataclass(frozen=True)
class Import:
    """One imported module (or ``module.name``) at one line of one module."""
    importer: str
    target: str       # the module imported, or the module a name is taken from
    name: str | None  # the name taken from ``target`` (None: the module itself)
    line: int
    in_function: bool
    type_checking: bool

    def where(self) -> str:
        return f"{MODULES[self.importer].relative_to(ROOT.parent)}:{self.line}"


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.glob("pyjax/**/*.py"))}
PACKAGES = {m.rsplit(".", 1)[0] for m in MODULES} | {"pyjax"}


def layer(module: str) -> str:
    """The layer of a pyjax module (KeyError for one that has none: give it one)."""
    parts = module.split(".")
    if len(parts) < 3 or parts[1] != "_src":
        return "public"
    if parts[2] in _PACKAGE_LAYERS:
        return _PACKAGE_LAYERS[parts[2]]
    if len(parts) > 3:
        raise KeyError(module)
    return _MODULE_LAYERS[parts[2]]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_module(name: str) -> bool:
    return name in MODULES or name in PACKAGES


class _Scanner(ast.NodeVisitor):
    """Collects a module's pyjax imports and the private names it reads off modules."""

    def __init__(self, module: str):
        self.module = module
        self.imports: list[Import] = []
        self.private_reads: list[tuple[str, int]] = []  # ("module._name", line)
        self.aliases: dict[str, str] = {}  # local name -> pyjax module it is bound to
        self.depth = 0
        self.type_checking = False

    def _add(self, target: str, name: str | None, line: int):
        self.imports.append(Import(self.module, target, name, line, self.depth > 0,
                                   self.type_checking))

    def visit_Import(self, node: ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == "pyjax":
                self._add(alias.name, None, node.lineno)
                bound = alias.asname or "pyjax"
                self.aliases[bound] = alias.name if alias.asname else "pyjax"

    def visit_ImportFrom(self, node: ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = self.module if MODULES[self.module].name == "__init__.py" else \
                self.module.rsplit(".", 1)[0]
            package = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
            base = f"{package}.{base}" if base else package
        if base.split(".")[0] != "pyjax":
            return
        for alias in node.names:
            full = f"{base}.{alias.name}"
            if _is_module(full):
                self._add(full, None, node.lineno)
                self.aliases[alias.asname or alias.name] = full
            else:
                self._add(base, alias.name, node.lineno)

    def visit_Attribute(self, node: ast.Attribute):
        owner = self._module_of(node.value)
        if owner is not None and _is_private(node.attr) and \
                not _is_module(f"{owner}.{node.attr}"):
            self.private_reads.append((f"{owner}.{node.attr}", node.lineno))
        self.generic_visit(node)

    def _module_of(self, node: ast.expr) -> str | None:
        """The pyjax module an expression names (``lax_shape``, ``pyjax._src.core``)."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = self._module_of(node.value)
            full = f"{owner}.{node.attr}" if owner else None
            return full if full and _is_module(full) else None
        return None

    def _function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If):
        test = node.test
        guarded = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
            (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
        if not guarded:
            return self.generic_visit(node)
        before, self.type_checking = self.type_checking, True
        for stmt in node.body:
            self.visit(stmt)
        self.type_checking = before
        for stmt in node.orelse:
            self.visit(stmt)


def _scan() -> dict[str, _Scanner]:
    scanners = {}
    for module, path in MODULES.items():
        scanner = _Scanner(module)
        scanner.visit(ast.parse(path.read_text(), str(path)))
        scanners[module] = scanner
    return scanners


SCANS = _scan()
IMPORTS = [imp for s in SCANS.values() for imp in s.imports]


# ---------------------------------------------------------------------------- rules

def layer_violations() -> dict[tuple, list[str]]:
    """Imports of a higher layer, and lax importing the compiler."""
    found: dict[tuple, list[str]] = {}
    for imp in IMPORTS:
        src, dst = layer(imp.importer), layer(imp.target)
        if LAYERS.index(dst) > LAYERS.index(src):
            why = f"layer: {src} imports {dst}"
        elif src == "lax" and dst == "compiler":
            why = "layer: lax imports compiler"
        else:
            continue
        found.setdefault((imp.importer, imp.target, "layer"), []).append(
            f"{imp.where()}: {imp.importer} -> {imp.target} ({why})")
    return found


def module_graph() -> dict[str, dict[str, list[Import]]]:
    """importer -> imported -> the imports that run when the importer is loaded."""
    graph: dict[str, dict[str, list[Import]]] = {m: {} for m in MODULES}
    for imp in IMPORTS:
        if not imp.in_function and not imp.type_checking and imp.target in MODULES \
                and imp.target != imp.importer:
            graph[imp.importer].setdefault(imp.target, []).append(imp)
    return graph


def strongly_connected(graph) -> list[set[str]]:
    """Tarjan's components of more than one module (each one holds at least one cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    return components


def cycle_violations() -> dict[tuple, list[str]]:
    """Every module-level import between two modules of one cycle."""
    graph = module_graph()
    found: dict[tuple, list[str]] = {}
    for component in strongly_connected(graph):
        for src in sorted(component):
            for dst, imps in graph[src].items():
                if dst in component:
                    found[(src, dst, "cycle")] = [
                        f"{imp.where()}: {src} -> {dst} (cycle among {sorted(component)})"
                        for imp in imps]
    return found


def function_import_violations() -> dict[tuple, list[str]]:
    found: dict[tuple, list[str]] = {}
    for imp in IMPORTS:
        if imp.in_function and (imp.importer, imp.target) not in LAZY:
            found.setdefault((imp.importer, imp.target, "function import"), []).append(
                f"{imp.where()}: {imp.importer} imports {imp.target} inside a function")
    return found


def private_violations() -> dict[tuple, list[str]]:
    found: dict[tuple, list[str]] = {}
    for imp in IMPORTS:
        if imp.name is not None and _is_private(imp.name):
            found.setdefault((imp.importer, f"{imp.target}.{imp.name}", "private"), []).append(
                f"{imp.where()}: {imp.importer} imports private {imp.target}.{imp.name}")
    for module, scanner in SCANS.items():
        for name, line in scanner.private_reads:
            path = MODULES[module].relative_to(ROOT.parent)
            found.setdefault((module, name, "private"), []).append(
                f"{path}:{line}: {module} reads private {name}")
    return found


RULES = {"layer": layer_violations, "cycle": cycle_violations,
         "function import": function_import_violations, "private": private_violations}


def _check(rule: str):
    found = RULES[rule]()
    new = [line for key, lines in sorted(found.items()) for line in dict.fromkeys(lines)]
    assert not new, f"{len(new)} import(s) break the {rule} rule:\n" + "\n".join(new)


# ---------------------------------------------------------------------------- tests

def test_every_module_has_a_layer():
    unknown = []
    for module in MODULES:
        try:
            layer(module)
        except KeyError:
            unknown.append(module)
    assert not unknown, f"give these modules a layer in test_layers.py: {unknown}"


def test_layer_direction():
    _check("layer")


def test_no_import_cycles():
    _check("cycle")


def test_no_function_level_imports():
    _check("function import")


def test_no_private_names_across_modules():
    _check("private")


def test_scan_sees_imports_and_private_reads():
    """The scanner itself: imports at both levels, names taken, private reads off modules."""
    scanner = _Scanner("pyjax._src.api")
    scanner.visit(ast.parse(
        "from pyjax._src.numpy import ufuncs as uf\n"
        "from pyjax._src.numpy.ufuncs import _where, add\n"
        "def f():\n"
        "    from pyjax._src import api\n"
        "    return uf._isnan, uf.__name__\n"))
    got = [(i.target, i.name, i.in_function) for i in scanner.imports]
    assert got == [("pyjax._src.numpy.ufuncs", None, False),
                   ("pyjax._src.numpy.ufuncs", "_where", False),
                   ("pyjax._src.numpy.ufuncs", "add", False),
                   ("pyjax._src.api", None, True)]
    assert scanner.private_reads == [("pyjax._src.numpy.ufuncs._isnan", 5)]
