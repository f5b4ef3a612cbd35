"""``jax._src.xla_bridge``: which backends have started. pyjax's CPU backend reads its
device count (``jax_num_cpu_devices``, else ``XLA_FLAGS``'
``--xla_force_host_platform_device_count``) at each use and never fixes it, so no backend
counts as started and a library may still set the count (chex's ``set_n_cpu_devices``)."""

_backends: dict = {}
