"""Where native code compiled once is kept for later processes (``backends/cpu/cache.py``);
mirrors ``jax.experimental.compilation_cache.compilation_cache``."""
from pyjax._src.backends.cpu import cache as _cache
from pyjax._src.config import config as _config


def set_cache_dir(path) -> None:
    """Keep compiled code in ``path`` (the ``jax_compilation_cache_dir`` flag). The
    cache is trusted: a folder others can write to is refused with a warning."""
    _config.update("jax_compilation_cache_dir", path)


def reset_cache() -> None:
    """Back to the state of a fresh process: the folder is looked up again on next use,
    and its problems are warned about again."""
    _cache.reset()
