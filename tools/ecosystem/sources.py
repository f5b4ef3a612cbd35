"""Getting a library's tests onto this machine, under ``<eco>/suites/<name>-<version>``:
extracted from its sdist (downloaded with pip into ``<eco>/sdist``) or, for a library whose
sdist ships none, taken from its repository at the release tag."""
from __future__ import annotations

import glob
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

from tools.ecosystem.suites import Suite


class SourceError(Exception):
    """The library's tests could not be obtained (said why)."""


def suite_root(eco: str, suite: Suite) -> str:
    return os.path.join(eco, "suites", f"{suite.name}-{suite.version}")


def obtain(eco: str, suite: Suite, repo: str | None) -> tuple[str, str]:
    """The suite's root directory and a line saying where its tests came from."""
    root = suite_root(eco, suite)
    if suite.from_sdist:
        sdist = _sdist(eco, suite)
        if not os.path.isdir(root):
            _extract_sdist(sdist, root)
        return root, f"sdist {os.path.basename(sdist)} (pip download --no-binary :all:)"
    where = repo or suite.repo_url
    if not os.path.isdir(root):
        _from_repository(where, suite, root)
    return root, f"repository {suite.repo_url} at tag {suite.tag} ({', '.join(suite.repo_paths)})"


def _sdist(eco: str, suite: Suite) -> str:
    folder = os.path.join(eco, "sdist")
    stem = f"{suite.dist.replace('-', '_')}-{suite.version}"
    found = glob.glob(os.path.join(folder, stem + ".tar.gz"))
    if found:
        return found[0]
    os.makedirs(folder, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
           "-d", folder, f"{suite.dist}=={suite.version}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    found = glob.glob(os.path.join(folder, stem + ".tar.gz"))
    if done.returncode or not found:
        raise SourceError(f"pip download of {suite.dist}=={suite.version} failed: "
                          f"{done.stderr.strip()[-400:]}")
    return found[0]


def _extract_sdist(sdist: str, root: str) -> None:
    """The sdist's top folder becomes ``root``."""
    parent = os.path.dirname(root)
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent) as tmp:
        with tarfile.open(sdist) as tar:
            tar.extractall(tmp, filter="data")
        (top,) = os.listdir(tmp)
        os.replace(os.path.join(tmp, top), root)


def _from_repository(where: str, suite: Suite, root: str) -> None:
    """``git archive`` of the tag's test paths from a local git directory (a clone or a bare
    mirror), or a shallow clone of the tag when ``where`` is a URL."""
    parent = os.path.dirname(root)
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent) as tmp:
        if os.path.isdir(where):
            archive = _git(["-C", where, "archive", "--format=tar", suite.tag,
                            *suite.repo_paths], binary=True)
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(tmp, filter="data")
            shutil.copytree(tmp, root)
            return
        clone = os.path.join(tmp, "clone")
        _git(["clone", "-q", "--depth", "1", "--branch", suite.tag, where, clone])
        os.makedirs(root)
        for path in suite.repo_paths:
            src, dst = os.path.join(clone, path), os.path.join(root, path)
            (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, dst)


def _git(args: list[str], binary: bool = False):
    done = subprocess.run(["git", *args], capture_output=True)
    if done.returncode:
        raise SourceError(f"git {' '.join(args)} failed: "
                          f"{done.stderr.decode(errors='replace').strip()[-400:]}")
    return done.stdout if binary else done.stdout.decode()
