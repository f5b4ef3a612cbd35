"""Pictures of a program: a function's jaxpr, and the optimized, fused program that the
compiler runs, as Graphviz source, SVG or an HTML page.

``jaxpr_graph(fun)(*args)`` traces ``fun`` with source lines recorded, compiles the jaxpr
(as ``jit`` would, without native kernels) and returns a ``JaxprGraph``. Both pictures have
one box per equation (its primitive and short parameters, its user source line as a link),
one edge per value read (labelled with shape and dtype: ``f32[128,512]``, ``~`` when weakly
typed), inputs and outputs as ovals, and each fused group of the compiled program drawn
as a dashed box around its members. Graphviz's ``dot`` lays the SVG out when installed;
otherwise a small layered layout of our own draws it (announced once).

Everything user-controlled (argument names, file paths) reaches DOT, SVG and HTML text only
through the escaping functions below, never as markup.
"""
from __future__ import annotations

import html
import inspect
import shutil
import subprocess
import urllib.parse
import warnings
from dataclasses import dataclass, field

from pyjax._src import backends, tree_util
from pyjax._src.api import make_jaxpr
from pyjax._src.compiler import passes
from pyjax._src.core.jaxpr import Jaxpr, Literal
from pyjax._src.transforms.staging import recording_sources


@dataclass
class Node:
    """One box (an equation) or oval (an input, constant or output) of a picture."""
    id: str
    label: str                 # first line: the operation or the value's name
    detail: str = ""           # second line: short parameters
    kind: str = "eqn"          # "eqn", "input", "const" or "output"
    source: str | None = None  # the user's ``file:line``
    group: int | None = None   # the fused group it belongs to


@dataclass
class Edge:
    src: str
    dst: str
    label: str


@dataclass
class Graph:
    """A picture's content, independent of how it is drawn."""
    title: str
    nodes: list = field(default_factory=list)
    edges: list = field(default_factory=list)
    groups: dict = field(default_factory=dict)  # group number -> its caption


def _aval_label(aval) -> str:
    return ("~" if aval.weak_type else "") + aval.str_short()


def _short_params(params: dict, limit: int = 60) -> str:
    """The parameters that say something (not None), sub-programs by their size, cut to
    ``limit`` characters."""
    parts = []
    for k, v in params.items():
        if v is None:
            continue
        if isinstance(v, Jaxpr) or isinstance(getattr(v, "jaxpr", None), Jaxpr):
            inner = v if isinstance(v, Jaxpr) else v.jaxpr
            parts.append(f"{k}: {len(inner.eqns)} eqns")
        else:
            parts.append(f"{k}={v}")
    text = ", ".join(parts)
    return text if len(text) <= limit else text[:limit - 1] + "…"


class _Builder:
    """Builds a ``Graph`` from a jaxpr, expanding the compiler's fused equations."""

    def __init__(self, title: str):
        self.graph = Graph(title)
        self.producer: dict[int, str] = {}  # id(var) -> node id

    def add(self, node: Node) -> str:
        self.graph.nodes.append(node)
        return node.id

    def read(self, atoms, dst: str) -> list:
        """Edges into ``dst`` for its variable operands; its literals, as text."""
        literals = []
        for a in atoms:
            if type(a) is Literal:
                literals.append(str(a.val))
            elif id(a) in self.producer:
                self.graph.edges.append(Edge(self.producer[id(a)], dst, _aval_label(a.aval)))
        return literals

    def eqn(self, e, group: int | None) -> None:
        nid = f"n{len(self.graph.nodes)}"
        detail = _short_params(e.params)
        literals = self.read(e.invars, nid)
        if literals:
            detail = ", ".join(filter(None, [" ".join(literals), detail]))
        self.add(Node(nid, e.prim.name, detail, "eqn", e.source, group))
        for v in e.outvars:
            self.producer[id(v)] = nid

    def jaxpr(self, jaxpr: Jaxpr, in_names: list, out_names: list) -> Graph:
        for i, v in enumerate(jaxpr.constvars):
            self.producer[id(v)] = self.add(Node(f"c{i}", f"const {i}", "", "const"))
        for i, (v, name) in enumerate(zip(jaxpr.invars, in_names)):
            self.producer[id(v)] = self.add(Node(f"i{i}", name, "", "input"))
        for e in jaxpr.eqns:
            if e.prim is passes.fused_p:
                self.fused(e)
            else:
                self.eqn(e, None)
        for i, v in enumerate(jaxpr.outvars):
            out = self.add(Node(f"o{i}", out_names[i], "", "output"))
            literals = self.read([v], out)
            if literals:
                self.graph.nodes[-1].detail = literals[0]
        return self.graph

    def fused(self, e) -> None:
        body = e.params["jaxpr"]
        number = len(self.graph.groups)
        ops = len(body.eqns)
        self.graph.groups[number] = f"fused group {number} ({ops} op{'s' * (ops != 1)})"
        for inner, outer in zip(body.invars, e.invars):
            if id(outer) in self.producer:
                self.producer[id(inner)] = self.producer[id(outer)]
        for member in body.eqns:
            self.eqn(member, number)


# ---------------------------------------------------------------------------- DOT

def _dot_string(text: str) -> str:
    """A DOT double-quoted string holding ``text`` literally."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _file_url(source: str) -> str:
    path, _, line = source.rpartition(":")
    return "file://" + urllib.parse.quote(path) + (f"#L{line}" if line.isdigit() else "")


_DOT_SHAPES = {"eqn": "box", "input": "ellipse", "const": "ellipse", "output": "ellipse"}
_FILL = {"eqn": "#e8eef8", "input": "#e6f4e6", "const": "#f4f0e0", "output": "#f8e8e8"}


def _dot_node(n: Node) -> str:
    label = n.label + (f"\n{n.detail}" if n.detail else "") + \
        (f"\n{_basename(n.source)}" if n.source else "")
    attrs = [f"label={_dot_string(label)}", f"shape={_DOT_SHAPES[n.kind]}",
             f"fillcolor={_dot_string(_FILL[n.kind])}"]
    if n.source:
        attrs += [f"URL={_dot_string(_file_url(n.source))}",
                  f"tooltip={_dot_string(n.source)}"]
    return f"  {n.id} [{', '.join(attrs)}];"


def _basename(source: str) -> str:
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def to_dot(graph: Graph) -> str:
    """Graphviz source of ``graph``."""
    lines = [f"digraph {_dot_string(graph.title)} {{",
             f"  label={_dot_string(graph.title)}; labelloc=t; rankdir=TB;",
             '  node [style="rounded,filled", fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for n in graph.nodes:
        if n.group is None:
            lines.append(_dot_node(n))
    for number, caption in graph.groups.items():
        lines.append(f"  subgraph cluster_{number} {{")
        lines.append(f"    label={_dot_string(caption)}; style=dashed; color=\"#3060c0\";")
        lines += ["  " + _dot_node(n) for n in graph.nodes if n.group == number]
        lines.append("  }")
    lines += [f"  {e.src} -> {e.dst} [label={_dot_string(e.label)}];" for e in graph.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- SVG

_CHAR_W, _LINE_H, _ROW_H, _GAP = 6.2, 13, 78, 24
_GRAPHVIZ_MISSING_TOLD = []


def _announce_missing_graphviz() -> None:
    """Say once per process that pictures fall back to the simple layout."""
    if shutil.which("dot") is None and not _GRAPHVIZ_MISSING_TOLD:
        _GRAPHVIZ_MISSING_TOLD.append(True)
        warnings.warn("jaxpr_graph: Graphviz's `dot` was not found, so SVG pictures are drawn "
                      "with pyjax's simple layered layout (install Graphviz for a tidier one)",
                      stacklevel=3)


def graphviz_svg(graph: Graph) -> str | None:
    """The SVG Graphviz's ``dot`` draws of ``graph``, or None when it is not installed."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    done = subprocess.run([exe, "-Tsvg"], input=to_dot(graph), capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout


def _layers(graph: Graph) -> dict:
    """Each node's row: one below the lowest of the nodes it reads."""
    preds: dict[str, list] = {n.id: [] for n in graph.nodes}
    for e in graph.edges:
        preds[e.dst].append(e.src)
    row: dict[str, int] = {}
    for n in graph.nodes:  # (program order: producers come first)
        row[n.id] = 1 + max((row[p] for p in preds[n.id]), default=-1)
    return row


def _node_lines(n: Node) -> list:
    return [n.label] + ([n.detail] if n.detail else []) + \
        ([_basename(n.source)] if n.source else [])


def _width(n: Node) -> float:
    return max(60.0, _CHAR_W * max(map(len, _node_lines(n))) + 16)


def _lanes(graph: Graph, row: dict) -> dict:
    """A lane (a vertical band of its own) per fused group: groups whose rows overlap get
    different lanes, so no group's box covers another's or a non-member."""
    spans = {}
    for n in graph.nodes:
        if n.group is not None:
            lo, hi = spans.get(n.group, (row[n.id], row[n.id]))
            spans[n.group] = (min(lo, row[n.id]), max(hi, row[n.id]))
    lane_ends, lane = [], {}
    for g, (lo, hi) in sorted(spans.items(), key=lambda kv: kv[1]):
        free = next((i for i, end in enumerate(lane_ends) if end < lo), len(lane_ends))
        lane_ends[free:free + 1] = [hi]
        lane[g] = free
    return lane


def _positions(graph: Graph) -> dict:
    """``id -> (x, y, width, height)``: rows by ``_layers``; ungrouped nodes on the left,
    each fused group's members in its lane to the right."""
    row = _layers(graph)
    lane = _lanes(graph, row)
    used: dict[tuple, float] = {}  # (row, lane or None) -> width used so far
    for n in graph.nodes:
        key = (row[n.id], lane.get(n.group))
        used[key] = used.get(key, 0.0) + _width(n) + _GAP
    left = max([w for (_, ln), w in used.items() if ln is None], default=0.0)
    lane_w = {}
    for (_, ln), w in used.items():
        if ln is not None:
            lane_w[ln] = max(lane_w.get(ln, 0.0), w)
    lane_x = {ln: _GAP + left + sum(lane_w[k] + _GAP for k in range(ln)) for ln in lane_w}
    pos, filled = {}, {}
    for n in graph.nodes:
        key = (row[n.id], lane.get(n.group))
        x = filled.get(key, _GAP if key[1] is None else lane_x[key[1]])
        w = _width(n)
        pos[n.id] = (x, _GAP + 30 + row[n.id] * _ROW_H, w, _LINE_H * len(_node_lines(n)) + 10)
        filled[key] = x + w + _GAP
    return pos


def _svg_node(n: Node, box) -> str:
    x, y, w, h = box
    esc = html.escape
    shape = (f'<rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}" rx="6" '
             f'fill="{_FILL[n.kind]}" stroke="#556"/>') if n.kind == "eqn" else \
        (f'<ellipse cx="{x + w / 2:.0f}" cy="{y + h / 2:.0f}" rx="{w / 2:.0f}" '
         f'ry="{h / 2:.0f}" fill="{_FILL[n.kind]}" stroke="#556"/>')
    text = "".join(
        f'<text x="{x + w / 2:.0f}" y="{y + 16 + i * _LINE_H:.0f}" text-anchor="middle" '
        f'font-size="{11 if i == 0 else 9}">{esc(line)}</text>'
        for i, line in enumerate(_node_lines(n)))
    body = f"<title>{esc(n.source or n.label)}</title>{shape}{text}"
    if n.source:
        return f'<a href="{esc(_file_url(n.source), quote=True)}">{body}</a>'
    return f"<g>{body}</g>"


def _svg_groups(graph: Graph, pos: dict) -> list:
    out = []
    for number, caption in graph.groups.items():
        boxes = [pos[n.id] for n in graph.nodes if n.group == number]
        x0 = min(b[0] for b in boxes) - 8
        y0 = min(b[1] for b in boxes) - 18
        x1 = max(b[0] + b[2] for b in boxes) + 8
        y1 = max(b[1] + b[3] for b in boxes) + 8
        out.append(f'<g class="group"><rect x="{x0:.0f}" y="{y0:.0f}" width="{x1 - x0:.0f}" '
                   f'height="{y1 - y0:.0f}" fill="#3060c0" fill-opacity="0.05" '
                   f'stroke="#3060c0" stroke-dasharray="5,3"/><text x="{x0 + 4:.0f}" '
                   f'y="{y0 + 11:.0f}" font-size="9" fill="#3060c0">'
                   f"{html.escape(caption)}</text></g>")
    return out


def _svg_edge(e: Edge, pos: dict) -> str:
    sx, sy, sw, sh = pos[e.src]
    dx, dy, dw, _ = pos[e.dst]
    x1, y1, x2, y2 = sx + sw / 2, sy + sh, dx + dw / 2, dy
    return (f'<g><line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="#778" '
            f'marker-end="url(#arrow)"/><text x="{(x1 + x2) / 2 + 3:.0f}" '
            f'y="{(y1 + y2) / 2:.0f}" font-size="8" fill="#445">{html.escape(e.label)}</text>'
            "</g>")


def layered_svg(graph: Graph) -> str:
    """``graph`` drawn without Graphviz: rows by dependency depth, straight edges."""
    pos = _positions(graph)
    width = max((x + w for x, _, w, _ in pos.values()), default=100) + _GAP
    height = max((y + h for _, y, _, h in pos.values()), default=60) + _GAP
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
             f'height="{height:.0f}" font-family="Helvetica, Arial, sans-serif">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
             'markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" '
             'fill="#778"/></marker></defs>',
             f'<text x="{_GAP}" y="20" font-size="13" font-weight="bold">'
             f"{html.escape(graph.title)}</text>"]
    parts += _svg_groups(graph, pos)
    parts += [_svg_edge(e, pos) for e in graph.edges]
    parts += [_svg_node(n, pos[n.id]) for n in graph.nodes]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------- the tool

class JaxprGraph:
    """The two pictures of one traced call: ``traced`` (the jaxpr) and ``compiled`` (the
    optimized program, fused groups boxed). ``dot()``, ``svg()`` and ``html()`` render
    them; ``save(path)`` writes one by the path's suffix; notebooks show ``html()``."""

    def __init__(self, traced: Graph, compiled: Graph, traced_text: str, compiled_text: str):
        self.traced, self.compiled = traced, compiled
        self._texts = {"traced": traced_text, "compiled": compiled_text}

    def _graph(self, which: str) -> Graph:
        if which not in ("traced", "compiled"):
            raise ValueError(f"jaxpr_graph: which must be 'traced' or 'compiled', got {which!r}")
        return getattr(self, which)

    def dot(self, which: str = "compiled") -> str:
        return to_dot(self._graph(which))

    def svg(self, which: str = "compiled") -> str:
        graph = self._graph(which)
        return graphviz_svg(graph) or layered_svg(graph)

    def html(self) -> str:
        sections = "".join(
            f"<h2>{html.escape(g.title)}</h2>{self.svg(which)}<details><summary>text"
            f"</summary><pre>{html.escape(self._texts[which])}</pre></details>"
            for which, g in (("traced", self.traced), ("compiled", self.compiled)))
        return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>jaxpr_graph"
                "</title></head><body style=\"font-family: Helvetica, Arial, sans-serif\">"
                f"{sections}</body></html>\n")

    _repr_html_ = html

    def save(self, path: str, which: str = "compiled") -> None:
        """Write ``path``: ``.html`` (both pictures), ``.svg`` or ``.dot`` (one)."""
        suffix = str(path).rsplit(".", 1)[-1].lower()
        render = {"html": lambda: self.html(), "svg": lambda: self.svg(which),
                  "dot": lambda: self.dot(which), "gv": lambda: self.dot(which)}
        if suffix not in render:
            raise ValueError(f"jaxpr_graph.save: path must end in .html, .svg or .dot, got "
                             f"{path!r}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(render[suffix]())


def _leaf_names(fun, args, kwargs, statics) -> list | None:
    """``params[0][1]``-style names of the non-static arguments' leaves (None when
    ``fun``'s signature cannot say)."""
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return None
    names = []
    for i, (name, value) in enumerate(bound.arguments.items()):
        if i not in statics:
            names += [name + tree_util.keystr(path)
                      for path, _ in tree_util.tree_flatten_with_path(value)[0]]
    return names


def jaxpr_graph(fun, static_argnums=()):
    """``jaxpr_graph(fun)(*args, **kwargs) -> JaxprGraph``: pictures of ``fun``'s jaxpr
    for these arguments and of the program ``jit`` compiles from it."""
    def make(*args, **kwargs):
        _announce_missing_graphviz()
        with recording_sources():
            closed, shapes = make_jaxpr(fun, static_argnums, return_shape=True)(*args, **kwargs)
        statics = (static_argnums,) if isinstance(static_argnums, int) else static_argnums
        names = _leaf_names(fun, args, kwargs, statics)
        if names is None or len(names) != len(closed.jaxpr.invars):
            names = [f"in {i}" for i in range(len(closed.jaxpr.invars))]
        out_names = ["out" + tree_util.keystr(path)
                     for path, _ in tree_util.tree_flatten_with_path(shapes)[0]]
        optimized = backends.platform().compile(closed, native_groups=False).jaxpr
        name = getattr(fun, "__name__", "function")
        traced = _Builder(f"{name}: traced jaxpr").jaxpr(closed.jaxpr, names, out_names)
        compiled = _Builder(f"{name}: as compiled (optimized, fused)").jaxpr(
            optimized.jaxpr, names, out_names)
        return JaxprGraph(traced, compiled, str(closed), str(optimized))
    return make
