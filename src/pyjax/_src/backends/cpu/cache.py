"""The persistent compilation cache: native code compiled once is reused by every later
process (JAX's ``jax_compilation_cache_dir``, ``jax_enable_compilation_cache`` and
``jax_compilation_cache_max_size``, set by ``config.update`` or ``JAX_...`` environment
variables). On by default, in ``$XDG_CACHE_HOME/pyjax`` (``~/.cache/pyjax``).

Only bytes are stored, never pickles: an entry is a content-addressed shared object
``<sha256>.so`` and a reference ``<key>.ref`` naming it. The key hashes everything that
determines the code (its source, the compiler and its version, flags, CPU features,
pyjax's version); the caller builds it. A reference is trusted only if the object it
names hashes to that name, so a truncated or corrupted entry is found, deleted and
rebuilt. Writers build in a private temporary folder inside the cache and publish with
atomic renames (the object first, then the reference), so concurrent writers of one key
each leave a whole entry. The folder must belong to the user and be writable by nobody
else (it is created 0700); otherwise, or when it cannot be written (a full disk), code is
built in a temporary folder of this process, with one warning.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import stat
import tempfile
import time
import warnings

from pyjax._src.config import config

FORMAT = "pyjax-cache-1"
_STALE_SECONDS = 3600  # a writer's temporary folder older than this was abandoned
_warned: set = set()
_private: list = []    # this process's own folder, where nothing can be cached


def warn_once(what: str, message: str) -> None:
    if what not in _warned:
        _warned.add(what)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def key(*parts: str) -> str:
    """The key of an entry determined by ``parts``."""
    digest = hashlib.sha256(FORMAT.encode())
    for p in parts:
        digest.update(b"\0" + p.encode())
    return digest.hexdigest()


def default_directory() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pyjax")


def directory() -> str | None:
    """The cache folder (created 0700), or None where caching is off or the folder is
    not safe (not the user's own, or writable by others: a warning says which)."""
    if not _enabled():
        return None
    path = config.read("jax_compilation_cache_dir") or default_directory()
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.stat(path)
    except OSError as e:
        warn_once(("dir", path), f"pyjax: cannot create the compilation cache {path!r} ({e}); "
                  "native code is compiled again in every process")
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or \
            info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        warn_once(("unsafe", path), f"pyjax: not using the compilation cache {path!r}: it "
                  "must be a folder owned by this user and writable by no one else "
                  "(chmod 700); native code is compiled again in every process")
        return None
    return path


def _enabled() -> bool:
    value = config.read("jax_enable_compilation_cache")
    return value if isinstance(value, bool) else str(value).lower() not in ("0", "false", "no")


def max_bytes() -> int:
    """The cap on the cached objects' total size (-1: none)."""
    return int(config.read("jax_compilation_cache_max_size"))


def private_directory() -> str:
    """A folder of this process's own, removed at exit: where code is built when it
    cannot be cached."""
    if not _private:
        _private.append(tempfile.mkdtemp(prefix="pyjax-native-"))
        atexit.register(shutil.rmtree, _private[0], True)
    return _private[0]


def shared_object(entry_key: str, build) -> str:
    """The path of the shared object of ``entry_key``: the cached one if whole, else one
    ``build(path)`` writes (then cached where possible)."""
    folder = directory()
    if folder is not None:
        found = _lookup(folder, entry_key)
        if found is not None:
            return found
        try:
            return _build_into(folder, entry_key, build)
        except OSError as e:
            warn_once("write", f"pyjax: cannot write to the compilation cache {folder!r} "
                      f"({e}); compiling into a temporary folder instead")
    scratch = tempfile.mkdtemp(dir=private_directory())
    path = os.path.join(scratch, "native.so")
    build(path)
    return path


def find(entry_key: str) -> str | None:
    """The path of the cached, whole shared object of ``entry_key``, or None."""
    folder = directory()
    return None if folder is None else _lookup(folder, entry_key)


def _lookup(folder: str, entry_key: str) -> str | None:
    """The object a whole entry names; a broken entry is deleted (and None returned)."""
    ref = os.path.join(folder, entry_key + ".ref")
    try:
        with open(ref, encoding="ascii") as f:
            tag, digest = f.read().split()
    except (OSError, ValueError, UnicodeDecodeError):
        _remove(ref)
        return None
    obj = os.path.join(folder, digest + ".so")
    try:
        with open(obj, "rb") as f:
            whole = tag == FORMAT and hashlib.sha256(f.read()).hexdigest() == digest
    except OSError:
        whole = False
    if not whole:
        _remove(ref)
        _remove(obj)
        return None
    try:
        os.utime(obj)  # (recently used: evicted last)
    except OSError:
        pass
    return obj


def _build_into(folder: str, entry_key: str, build) -> str:
    scratch = tempfile.mkdtemp(prefix="tmp-", dir=folder)
    try:
        built = os.path.join(scratch, "native.so")
        build(built)
        with open(built, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        obj = os.path.join(folder, digest + ".so")
        os.replace(built, obj)
        ref = os.path.join(scratch, "ref")
        with open(ref, "w", encoding="ascii") as f:
            f.write(f"{FORMAT} {digest}\n")
        os.replace(ref, os.path.join(folder, entry_key + ".ref"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _unevicted.append((folder, obj))
    return obj


_unevicted: list = []  # (folder, object made) not yet followed by an ``evict``


def evict_pending() -> None:
    """``evict`` each folder written to since the last call, keeping what was made. (Its
    callers run it after the new code is handed over: it stats every entry, and on a
    background thread each stat waits for the GIL, up to 5 ms, while the caller runs
    Python: a 600-entry cache delayed a scan's switch to its native loop by ~0.25 s.)"""
    made: dict = {}
    while _unevicted:
        folder, obj = _unevicted.pop()
        made.setdefault(folder, set()).add(obj)
    for folder, keep in made.items():
        evict(folder, keep)


def evict(folder: str, keep=frozenset()) -> None:
    """Delete the least recently used objects until the rest fit the size cap (their
    references then find nothing; ``keep``, those just made, stay), and writers'
    abandoned temporary folders."""
    cap = max_bytes()
    objects, now = [], time.time()
    for entry in os.scandir(folder):
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if entry.name.endswith(".so") and entry.path not in keep:
            objects.append((info.st_mtime, info.st_size, entry.path))
        elif entry.name.startswith("tmp-") and now - info.st_mtime > _STALE_SECONDS:
            shutil.rmtree(entry.path, ignore_errors=True)
    if cap < 0:
        return
    total = sum(size for _, size, _ in objects) + sum(map(_size, keep))
    for _, size, path in sorted(objects):
        if total <= cap:
            break
        _remove(path)
        total -= size


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def reset() -> None:
    """Forget what this process has warned about (the folder is read from the flags on
    every use, so nothing else is remembered)."""
    _warned.clear()
