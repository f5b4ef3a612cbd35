"""Where each library's test suite comes from and which of its files are run.

Tests come from the library's source distribution where it ships them (``pip download
--no-binary :all:``); Equinox's sdist has none, so its tests come from its repository at
the release tag (a git directory or URL given with ``--repo equinox=...``). Files are left
out only for a dependency this runner does not install (TensorFlow, Orbax, the Rust
``flaxlib``), each with its reason, which docs/ecosystem.md repeats."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Suite:
    name: str                 # the import name, used on the command line (--lib)
    dist: str                 # the distribution name on the package index
    version: str
    patterns: tuple[str, ...]  # test files, globs relative to the suite's root
    excluded: dict[str, str] = dataclasses.field(default_factory=dict)  # file -> why
    repo_url: str | None = None  # where the tests come from when the sdist has none
    repo_paths: tuple[str, ...] = ()  # what to take from the repository at the tag

    @property
    def tag(self) -> str:
        return f"v{self.version}"

    @property
    def from_sdist(self) -> bool:
        return self.repo_url is None


_TF = "imports tensorflow, which the runner does not install"
SUITES = {s.name: s for s in [
    Suite("optax", "optax", "0.2.8", ("optax/**/*_test.py",)),
    Suite("chex", "chex", "0.1.92", ("chex/**/*_test.py",)),
    Suite("equinox", "equinox", "0.13.8", ("tests/test_*.py",),
          excluded={"tests/test_onnx.py": "exports to ONNX through tensorflow and tf2onnx, "
                                          "which the runner does not install"},
          repo_url="https://github.com/patrick-kidger/equinox",
          repo_paths=("tests", "pyproject.toml")),
    Suite("flax", "flax", "0.12.8", ("tests/**/*_test.py", "tests/**/test_*.py"),
          excluded={"tests/io_test.py": _TF, "tests/tensorboard_test.py": _TF,
                    "tests/checkpoints_test.py": "imports orbax-checkpoint, not installed",
                    "tests/nnx/integration_test.py": "imports orbax-checkpoint, not installed",
                    "tests/flaxlib_test.py": "tests the Rust extension flaxlib, not built"}),
    Suite("haiku", "dm-haiku", "0.0.17", ("haiku/**/*_test.py",),
          excluded={"haiku/_src/transform_test.py": _TF,
                    "haiku/_src/integration/jax2tf_test.py": _TF}),
]}
