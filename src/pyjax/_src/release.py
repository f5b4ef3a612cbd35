"""pyjax's own release (``pyjax.version.pyjax_version``), here where every layer may read
it: the backends key compiled code by it (``backends.cpu.ccompiler``)."""
PYJAX_VERSION = "0.1.0"
