"""``jax._src.dispatch``: eager dispatch. pyjax runs effects (callbacks) in program order
before a call returns, so there are no pending effect tokens to wait for."""


def wait_for_tokens() -> None:
    """Wait for outstanding effects: pyjax leaves none outstanding."""
