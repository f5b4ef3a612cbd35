"""``pyjax.experimental.jaxpr_graph``: pictures of a jaxpr and of the compiled program.

The pictures are checked for what they show (one box per equation, edges labelled with the
values' types, fused groups boxed, source lines linked), read back from the SVG/XML."""
import shutil
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import pyjax
import pyjax.numpy as jnp
from pyjax import lax
from pyjax._src import jaxpr_graph as jaxpr_graph_module
from pyjax._src.compiler import passes
from pyjax._src.jaxpr_graph import graphviz_svg, layered_svg
from pyjax.experimental import jaxpr_graph

SVG = "{http://www.w3.org/2000/svg}"
HERE = __file__


def layer(params, x):
    w, b = params
    h = jnp.tanh(x @ w + b)  # LINE_TANH
    return jnp.mean(h * h)   # LINE_MEAN


def _line(marker: str) -> int:
    with open(HERE) as f:
        return next(i for i, text in enumerate(f, 1) if marker in text and "def " not in text
                    and "_line(" not in text)


ARGS = ((jnp.ones((64, 256), jnp.float32) * .01, jnp.zeros(256, jnp.float32)),
        jnp.ones((128, 64), jnp.float32))


pytestmark = pytest.mark.filterwarnings("ignore:jaxpr_graph. Graphviz")


@pytest.fixture(scope="module")
def graph():
    return jaxpr_graph(pyjax.grad(layer))(*ARGS)


def test_missing_graphviz_is_announced_once(monkeypatch):
    monkeypatch.setattr(jaxpr_graph_module.shutil, "which", lambda name: None)
    monkeypatch.setattr(jaxpr_graph_module, "_GRAPHVIZ_MISSING_TOLD", [])
    with pytest.warns(UserWarning, match="Graphviz's `dot` was not found"):
        g = jaxpr_graph(jnp.sin)(1.0)
    assert g.svg().startswith("<svg")  # drawn by the fallback
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jaxpr_graph(jnp.cos)(1.0)


def test_traced_picture_has_a_box_per_equation_and_typed_edges(graph):
    closed = pyjax.make_jaxpr(pyjax.grad(layer))(*ARGS)
    boxes = [n for n in graph.traced.nodes if n.kind == "eqn"]
    assert [n.label for n in boxes] == [e.prim.name for e in closed.eqns]
    assert [n.label for n in graph.traced.nodes if n.kind == "input"] == \
        ["params[0]", "params[1]", "x"]
    assert [n.label for n in graph.traced.nodes if n.kind == "output"] == \
        ["out[0]", "out[1]"]
    reads = sum(1 for e in closed.eqns for v in e.invars if hasattr(v, "aval")
                and not hasattr(v, "val")) + len(closed.jaxpr.outvars)
    assert len(graph.traced.edges) == reads
    assert {e.label for e in graph.traced.edges} >= {"f32[128,256]", "f32[64,256]", "f32[256]"}


def test_every_equation_links_to_the_users_line(graph):
    lines = {int(n.source.rsplit(":", 1)[1]) for n in graph.traced.nodes if n.kind == "eqn"}
    assert all(n.source and n.source.startswith(HERE) for n in graph.traced.nodes
               if n.kind == "eqn")
    # forward equations at their own lines; the backward pass at grad's call (the fixture)
    assert {_line("LINE_TANH"), _line("LINE_MEAN")} <= lines


def test_compiled_picture_boxes_each_fused_group(graph):
    exe = pyjax._src.backends.platform().compile(pyjax.make_jaxpr(pyjax.grad(layer))(*ARGS),
                                                 native_groups=False)
    fused = [e for e in exe.jaxpr.eqns if e.prim is passes.fused_p]
    assert fused, "the example should fuse"
    assert len(graph.compiled.groups) == len(fused)
    for number, e in enumerate(fused):
        members = [n.label for n in graph.compiled.nodes if n.group == number]
        assert members == [m.prim.name for m in e.params["jaxpr"].eqns]
    assert all(n.source for n in graph.compiled.nodes if n.kind == "eqn")


def _svg_facts(svg: str) -> tuple:
    root = ET.fromstring(svg)
    links = [a.get("href") or a.get("{http://www.w3.org/1999/xlink}href")
             for a in root.iter(SVG + "a")]
    texts = " ".join(t.text or "" for t in root.iter(SVG + "text"))
    return links, texts


def test_layered_svg_shows_boxes_links_types_and_groups(graph):
    links, texts = _svg_facts(layered_svg(graph.compiled))
    eqns = [n for n in graph.compiled.nodes if n.kind == "eqn"]
    assert len(links) == len(eqns)
    assert all(link.startswith("file://") and "#L" in link for link in links)
    for caption in graph.compiled.groups.values():
        assert caption in texts
    assert "f32[128,256]" in texts and "tanh" in texts
    group_boxes = [g for g in ET.fromstring(layered_svg(graph.compiled)).iter(SVG + "g")
                   if g.get("class") == "group"]
    assert len(group_boxes) == len(graph.compiled.groups)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_svg_has_every_node_and_cluster(graph):
    root = ET.fromstring(graphviz_svg(graph.compiled))
    classes = [g.get("class") for g in root.iter(SVG + "g")]
    assert classes.count("node") == len(graph.compiled.nodes)
    assert classes.count("cluster") == len(graph.compiled.groups)
    assert classes.count("edge") == len(graph.compiled.edges)


def test_user_text_is_escaped(tmp_path):
    """A source path with markup characters stays text in DOT, SVG and HTML."""
    path = tmp_path / 'we"ird<&>name.py'
    path.write_text("import pyjax.numpy as jnp\n\ndef f(x):\n    return jnp.sin(x) * 2\n")
    namespace = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    g = jaxpr_graph(namespace["f"])(np.float32(1.0))
    root = ET.fromstring(layered_svg(g.traced))
    titles = [t.text for t in root.iter(SVG + "title")]
    assert f"{path}:4" in titles
    assert '\\"ird' in g.dot("traced") and 'we"ird' not in g.dot("traced").replace('\\"', "")
    assert "&lt;&amp;&gt;" in g.html() and "<&>" not in g.html()
    if shutil.which("dot"):
        ET.fromstring(graphviz_svg(g.traced))  # Graphviz parsed our DOT


def test_sources_are_recorded_only_for_the_tool():
    closed = pyjax.make_jaxpr(lambda x: jnp.sin(x) + 1)(1.0)
    assert all(e.source is None for e in closed.eqns)


def test_scan_and_static_arguments():
    def f(n, xs):
        return lax.scan(lambda c, x: (c + x * n, c), 0.0, xs)[0]
    g = jaxpr_graph(f, static_argnums=0)(3, jnp.arange(4.0))
    scan = [n for n in g.traced.nodes if n.label == "scan"]
    assert len(scan) == 1 and "jaxpr: " in scan[0].detail
    assert [n.label for n in g.traced.nodes if n.kind == "input"] == ["xs"]


def test_save_and_bad_arguments(graph, tmp_path):
    for suffix in ("html", "svg", "dot"):
        graph.save(tmp_path / f"g.{suffix}")
        assert (tmp_path / f"g.{suffix}").stat().st_size > 500
    ET.parse(tmp_path / "g.svg")
    with pytest.raises(ValueError, match="must end in"):
        graph.save(tmp_path / "g.png")
    with pytest.raises(ValueError, match="which must be"):
        graph.svg("optimized")
