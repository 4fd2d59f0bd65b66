"""deploy/docker/Dockerfile against the repository: no Docker engine runs here, so check
what a build needs: the bases, the sources it copies, the web build script, a non-root
user, and that every service command the deployments use is in the installed packages."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib

import pytest

from tests.deploy.checks import SERVICE_PORT_SETTING
from tests.deploy.tooling import DEPLOY, ROOT

pytestmark = pytest.mark.unit

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    # as Docker does: comment lines go first (also inside a continued RUN), then continuations join
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_stages_build_from_the_expected_bases():
    bases = [rest.split()[0] for word, rest in instructions() if word == "FROM"]
    assert bases[0].startswith("node:20")
    assert all(b.startswith("python:3.11-slim") for b in bases[1:])
    runs = " ".join(rest for word, rest in instructions() if word == "RUN")
    assert "npm ci" in runs and "npm run build" in runs


def test_web_has_the_build_script_the_image_runs():
    scripts = json.loads((ROOT / "web" / "package.json").read_text())["scripts"]
    assert "build" in scripts


def test_runs_as_a_non_root_user_with_the_frontdesk_entry_point():
    final = instructions()[max(i for i, (w, _) in enumerate(instructions()) if w == "FROM") :]
    users = [rest for word, rest in final if word == "USER"]
    assert users and not users[-1].startswith(("root", "0"))
    entry = next(rest for word, rest in final if word == "ENTRYPOINT")
    assert json.loads(entry) == ["frontdesk"]


def test_every_copied_source_exists_and_passes_the_dockerignore():
    ignore = [
        line
        for line in (DEPLOY / "docker" / "Dockerfile.dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]

    def included(path: str) -> bool:
        keep = True
        for pattern in ignore:  # last match wins, as in Docker
            negate = pattern.startswith("!")
            pat = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat + "/*") or pat == "**":
                keep = negate
        return keep

    for word, rest in instructions():
        if word == "COPY" and "--from=" not in rest:
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), source
                assert included(source.rstrip("/")), f"{source} is excluded by the .dockerignore"


def test_every_service_package_is_installed_by_pyproject():
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = {rest.split()[0].rstrip("/") for word, rest in instructions() if word == "COPY" and "--from=" not in rest}
    for service in SERVICE_PORT_SETTING:
        assert any(fnmatch.fnmatch(service, pattern) for pattern in include), service
        assert service in copied, f"the image does not copy {service}/"
