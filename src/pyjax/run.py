"""Run a JAX program on pyjax, unmodified: ``python -m pyjax.run script.py [args...]`` or
``python -m pyjax.run -m package.module [args...]`` runs it with ``import jax`` (and every
``jax.*`` submodule) resolved to pyjax."""
from __future__ import annotations

import runpy
import sys

from pyjax._src.jax_alias import install_as_jax

USAGE = "usage: python -m pyjax.run script.py [args...] | -m module [args...]"


def main(argv: list[str]) -> None:
    """Install the swap, then run the script or module as ``__main__`` with ``argv``."""
    if not argv or argv[0] in ("-h", "--help") or (argv[0] == "-m" and len(argv) < 2):
        raise SystemExit(USAGE)
    install_as_jax()
    if argv[0] == "-m":
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(argv)
        runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
