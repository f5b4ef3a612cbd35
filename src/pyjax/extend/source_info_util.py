"""``jax.extend.source_info_util``: where equations came from. pyjax records the user's
``file:line`` per equation only on request (``experimental.jaxpr_graph``) and keeps no
name stacks, so these give the current frame's summary and empty name stacks."""
from __future__ import annotations

import contextlib
import os

from pyjax._src.core.trace import user_frame

# Paths that are not the user's code: pyjax's own, and those ``register_exclusion`` names.
EXCLUDED: list = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]


def is_user_filename(filename: str) -> bool:
    return not any(filename.startswith(path) for path in EXCLUDED)


class NameStack(tuple):
    """A name stack (pyjax keeps none: always empty)."""

    def extend(self, name):
        return self

    def wrap_name(self, name):
        return name


class SourceInfo:
    def __init__(self, where: str = "", name_stack: NameStack = NameStack()):
        self.where, self.name_stack = where, name_stack

    def replace(self, **kwargs):
        return SourceInfo(kwargs.get("where", self.where),
                          kwargs.get("name_stack", self.name_stack))


def current() -> SourceInfo:
    return SourceInfo(user_frame())


def new_source_info() -> SourceInfo:
    return SourceInfo()


def summarize(source_info: SourceInfo, num_frames: int = 1) -> str:
    return source_info.where or "unknown"


def register_exclusion(path: str) -> None:
    EXCLUDED.append(path)


def current_name_stack() -> NameStack:
    return NameStack()


def new_name_stack(name: str = "") -> NameStack:
    return NameStack()


@contextlib.contextmanager
def extend_name_stack(name):
    yield NameStack()


@contextlib.contextmanager
def set_name_stack(name_stack):
    yield


@contextlib.contextmanager
def reset_name_stack():
    yield


@contextlib.contextmanager
def transform_name_stack(name):
    yield NameStack()


@contextlib.contextmanager
def user_context(c, *, name_stack=None):
    yield
