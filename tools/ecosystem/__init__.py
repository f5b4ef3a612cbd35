"""The JAX ecosystem runner (issue 17): see __main__.py and docs/ecosystem.md."""
