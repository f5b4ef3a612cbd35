"""Small neural-network and optimizer libraries with the API of ``jax.example_libraries``
(``stax``, ``optimizers``), written for pyjax, so programs built on them run unchanged."""
