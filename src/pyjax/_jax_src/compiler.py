"""``jax._src.compiler``: XLA's compile entry points, which libraries wrap (chex's
``restrict_backends`` patches ``backend_compile_and_load``). pyjax compiles no XLA
programs, so there is nothing to wrap: naming an entry point is a NotImplementedError
rather than a restriction that silently never fires."""


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    raise NotImplementedError(f"jax._src.compiler.{name}: pyjax compiles no XLA programs, so "
                              f"its compile entry points cannot be wrapped or restricted "
                              f"(see docs/ecosystem.md)")
