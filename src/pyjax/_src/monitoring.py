"""``jax.monitoring``: named events, durations and scalars, delivered to registered
listeners (pyjax records jit's trace and compile durations under JAX's event names)."""
from __future__ import annotations

_LISTENERS: dict[str, list] = {"event": [], "duration": [], "span": [], "scalar": []}


def record_event(event: str, **kwargs) -> None:
    for callback in _LISTENERS["event"]:
        callback(event, **kwargs)


def record_event_duration_secs(event: str, duration: float, **kwargs) -> None:
    for callback in _LISTENERS["duration"]:
        callback(event, duration, **kwargs)


def record_event_time_span(event: str, start_time: float, end_time: float, **kwargs) -> None:
    for callback in _LISTENERS["span"]:
        callback(event, start_time, end_time, **kwargs)


def record_scalar(event: str, value, **kwargs) -> None:
    for callback in _LISTENERS["scalar"]:
        callback(event, value, **kwargs)


def register_event_listener(callback) -> None:
    _LISTENERS["event"].append(callback)


def register_event_duration_secs_listener(callback) -> None:
    _LISTENERS["duration"].append(callback)


def register_event_time_span_listener(callback) -> None:
    _LISTENERS["span"].append(callback)


def register_scalar_listener(callback) -> None:
    _LISTENERS["scalar"].append(callback)


def _unregister(kind: str, callback) -> None:
    if callback not in _LISTENERS[kind]:
        raise ValueError(f"{callback!r} is not a registered {kind} listener")
    _LISTENERS[kind].remove(callback)


def unregister_event_listener(callback) -> None:
    _unregister("event", callback)


def unregister_event_duration_listener(callback) -> None:
    _unregister("duration", callback)


def unregister_event_time_span_listener(callback) -> None:
    _unregister("span", callback)


def unregister_scalar_listener(callback) -> None:
    _unregister("scalar", callback)


def clear_event_listeners() -> None:
    for listeners in _LISTENERS.values():
        listeners.clear()
