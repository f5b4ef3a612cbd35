"""``jax.profiler``: trace annotations, a tracing session written as Chrome trace-event
JSON (which Perfetto and ``chrome://tracing`` open), and a small profile server.

Annotations cost one global read when no session is active. A session records complete
events (``"ph": "X"``) for annotated spans, for jitted calls (``jit(f)``, installed by
``transforms/jit.py`` through ``on_session_change``) and, at ``python_tracer_level`` 1
(JAX's default), for Python function calls on the thread that started it. ``stop_trace``
writes ``<log_dir>/plugins/profile/<run>/<host>.trace.json.gz`` (JAX's folder layout),
the run folder readable and writable by its owner only; ``create_perfetto_trace`` adds
``perfetto_trace.json.gz`` (the same events) there.
"""
from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import json
import os
import pathlib
import socket
import sys
import threading
import time
import urllib.parse


class ProfileOptions:
    """What a session collects: ``host_tracer_level`` 0 records no host events (spans,
    jitted calls), ``python_tracer_level`` 0 no Python calls. Options that configure XLA's
    collectors (``enable_hlo_proto``, ``include_dataset_ops``) have nothing to collect here."""

    def __init__(self):
        self.host_tracer_level = 2
        self.python_tracer_level = 1
        self.enable_hlo_proto = True
        self.include_dataset_ops = True
        self.duration_ms = 0
        self.start_timestamp_ns = 0
        self.session_id = ""
        self.repository_path = ""
        self.raise_error_on_start_failure = False
        self.advanced_configuration = {}

    def check(self):
        for name in ("duration_ms", "start_timestamp_ns"):
            if getattr(self, name):
                raise NotImplementedError(f"ProfileOptions.{name}: pyjax's sessions run from "
                                          f"start_trace to stop_trace")
        if self.repository_path or self.advanced_configuration:
            raise NotImplementedError("ProfileOptions.repository_path/advanced_configuration "
                                      "(TSL's remote profiling)")


class _Session:
    """The active trace: events in Chrome's format, times in microseconds since start."""

    def __init__(self, options: ProfileOptions):
        self.options = options
        self.events: list = []
        self.lock = threading.Lock()
        self.t0 = time.perf_counter_ns()
        self.wall0 = time.time_ns()
        self.pid = os.getpid()

    def now_us(self) -> float:
        return (time.perf_counter_ns() - self.t0) / 1e3

    def add(self, name: str, start_us: float, args: dict | None = None, cat: str = "host"):
        event = {"name": name, "cat": cat, "ph": "X", "ts": start_us,
                 "dur": self.now_us() - start_us, "pid": self.pid,
                 "tid": threading.get_ident()}
        if args:
            event["args"] = {k: str(v) for k, v in args.items()}
        with self.lock:
            self.events.append(event)

    def document(self) -> dict:
        return {"traceEvents": list(self.events), "displayTimeUnit": "ns",
                "metadata": {"producer": "pyjax.profiler", "start_time_unix_ns": self.wall0}}


_session: _Session | None = None
_state_lock = threading.Lock()
_listeners: list = []
_log_dir: pathlib.Path | None = None
_perfetto = False


def active() -> bool:
    return _session is not None


def on_session_change(listener) -> None:
    """Register ``listener()``, called when a session starts or stops."""
    _listeners.append(listener)


class TraceAnnotation:
    """A span named ``name`` (with ``kwargs`` as its arguments) on the trace timeline,
    recorded when the enclosed code runs while a session is active."""

    __slots__ = ("name", "kwargs", "_start")

    def __init__(self, name: str, **kwargs):
        self.name, self.kwargs, self._start = name, kwargs, None

    def __enter__(self):
        session = _session
        if session is not None and session.options.host_tracer_level > 0:
            self._start = (session, session.now_us())
        return self

    def __exit__(self, *exc):
        if self._start is not None:
            session, start = self._start
            self._start = None
            if session is _session:
                session.add(self.name, start, self.kwargs)
        return False


class StepTraceAnnotation(TraceAnnotation):
    """A training-step span: ``step_num`` (a keyword argument) is recorded with it."""

    __slots__ = ()


def annotate_function(func, name: str | None = None, **decorator_kwargs):
    """``func`` with each call recorded as a span named ``name`` (its qualified name)."""
    name = name or getattr(func, "__qualname__", None) or func.__name__

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with TraceAnnotation(name, **decorator_kwargs):
            return func(*args, **kwargs)
    return wrapper


def _python_tracer(session: _Session):
    """A ``sys.setprofile`` hook recording each Python function call as a span."""
    stack: list = []

    def hook(frame, event, arg):
        if event == "call":
            stack.append((frame, session.now_us()))
        elif event == "return" and stack and stack[-1][0] is frame:
            _, start = stack.pop()
            code = frame.f_code
            session.add(f"{code.co_qualname} ({os.path.basename(code.co_filename)}:"
                        f"{code.co_firstlineno})", start, cat="python")
    return hook


def start_trace(log_dir, create_perfetto_link: bool = False,
                create_perfetto_trace: bool = False, profiler_options=None) -> None:
    """Start recording; ``stop_trace`` writes the events under ``log_dir``."""
    global _session, _log_dir, _perfetto
    if create_perfetto_link:
        raise NotImplementedError("create_perfetto_link (serving the trace to "
                                  "ui.perfetto.dev); open the perfetto_trace.json.gz that "
                                  "create_perfetto_trace=True writes instead")
    options = profiler_options if profiler_options is not None else ProfileOptions()
    options.check()
    with _state_lock:
        if _session is not None:
            raise RuntimeError("Profile has already been started. Only one profile may be "
                               "run at a time.")
        _session = _Session(options)
        _log_dir, _perfetto = pathlib.Path(os.fspath(log_dir)), create_perfetto_trace
    if options.python_tracer_level > 0:
        sys.setprofile(_python_tracer(_session))
    for listener in _listeners:
        listener()


def _stop() -> _Session:
    global _session
    with _state_lock:
        if _session is None:
            raise RuntimeError("No profile started")
        session, _session = _session, None
    if session.options.python_tracer_level > 0:
        sys.setprofile(None)
    for listener in _listeners:
        listener()
    return session


def stop_trace() -> None:
    """Stop recording and write the trace (see the module docstring for where)."""
    session = _stop()
    run = session.options.session_id or time.strftime("%Y_%m_%d_%H_%M_%S")
    folder = _log_dir / "plugins" / "profile" / run
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    data = gzip.compress(json.dumps(session.document()).encode())
    names = [f"{socket.gethostname()}.trace.json.gz"]
    names += ["perfetto_trace.json.gz"] if _perfetto else []
    for name in names:
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)


@contextlib.contextmanager
def trace(log_dir, create_perfetto_link=False, create_perfetto_trace=False,
          profiler_options=None):
    """Record the enclosed code: ``start_trace`` ... ``stop_trace``."""
    start_trace(log_dir, create_perfetto_link, create_perfetto_trace, profiler_options)
    try:
        yield
    finally:
        stop_trace()


# ---------------------------------------------------------------------------- reading traces

class ProfileEvent:
    """One recorded span."""

    def __init__(self, event: dict):
        self.name = event["name"]
        self.start_ns = float(event["ts"]) * 1e3
        self.duration_ns = float(event.get("dur", 0)) * 1e3
        self.end_ns = self.start_ns + self.duration_ns
        self.stats = list(event.get("args", {}).items())


class ProfileLine:
    """The events of one thread."""

    def __init__(self, name: str, events: list):
        self.name, self.events = name, [ProfileEvent(e) for e in events]


class ProfilePlane:
    """The events of one process (pyjax has one host plane, ``/host:CPU``)."""

    def __init__(self, name: str, events: list):
        self.name, self.stats = name, []
        by_thread: dict = {}
        for e in events:
            by_thread.setdefault(e.get("tid", 0), []).append(e)
        self.lines = [ProfileLine(str(tid), evs) for tid, evs in sorted(by_thread.items())]


class ProfileData:
    """A trace written by ``stop_trace``, read back: ``planes`` -> ``lines`` -> ``events``.
    (JAX's reads XLA's XSpace protocol buffers, which pyjax does not write.)"""

    def __init__(self, document: dict):
        self.planes = [ProfilePlane("/host:CPU", document.get("traceEvents", []))]

    @classmethod
    def from_file(cls, path) -> "ProfileData":
        raw = pathlib.Path(path).read_bytes()
        return cls(json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw))

    @classmethod
    def from_serialized_xspace(cls, data):
        raise NotImplementedError("ProfileData.from_serialized_xspace: XSpace protocol "
                                  "buffers are XLA's; pyjax writes Chrome trace-event JSON")

    def find_plane_with_name(self, name: str):
        return next((p for p in self.planes if p.name == name), None)


# ---------------------------------------------------------------------------- profile server

class _Handler(http.server.BaseHTTPRequestHandler):
    """``GET /profile?duration_ms=N``: trace this process for N ms and answer the
    trace-event JSON (pyjax's protocol; TensorBoard's gRPC one is TSL's)."""

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path != "/profile":
            self.send_error(404)
            return
        body = json.dumps(capture(float(query.get("duration_ms", ["1000"])[0]))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def capture(duration_ms: float) -> dict:
    """Record every thread's host events for ``duration_ms`` (no Python tracer: it sees
    only its own thread) and return the trace document."""
    global _session
    options = ProfileOptions()
    options.python_tracer_level = 0
    with _state_lock:
        if _session is not None:
            raise RuntimeError("Profile has already been started. Only one profile may be "
                               "run at a time.")
        _session = _Session(options)
    for listener in _listeners:
        listener()
    time.sleep(duration_ms / 1e3)
    return _stop().document()


class ProfilerServer:
    """A running profile server (``start_server``'s result)."""

    def __init__(self, port: int):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


_server: ProfilerServer | None = None


def start_server(port: int, requires_backend: bool = True) -> ProfilerServer:
    """Serve profiles on ``127.0.0.1:port`` (see ``_Handler`` for the protocol)."""
    global _server
    if _server is not None:
        raise ValueError("Only one profiler server can be active at a time.")
    _server = ProfilerServer(port)
    return _server


def stop_server() -> None:
    global _server
    if _server is None:
        raise ValueError("No active profiler server.")
    _server.close()
    _server = None


def register_subprocess(pid: int, port: int):
    raise NotImplementedError("register_subprocess (aggregating subprocesses' profiles "
                              "into this process's)")
