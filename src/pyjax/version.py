"""pyjax's version (mirrors ``jax.version``)."""
_version = "0.1.0"
__version__ = _version
__version_info__ = tuple(int(p) for p in _version.split("."))
