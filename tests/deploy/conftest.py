from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tests.deploy import tooling

# values for the variables compose.yaml requires (${VAR:?...}); the tests check that
# leaving one out is refused
COMPOSE_ENV = {
    "FRONTDESK_SECRET": "test-secret-0123456789",
    "MINIO_ROOT_PASSWORD": "test-minio-password",
    "VLLM_API_KEY": "test-vllm-key",
    "GRAFANA_ADMIN_PASSWORD": "test-grafana-password",
}


@pytest.fixture(scope="session")
def validator() -> Path:
    return tooling.validator()


def compose_env(**changes) -> dict[str, str]:
    # only PATH and HOME from the outside: a FRONTDESK_* of the developer's shell must not
    # leak into the interpolation
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME")}
    env.update(COMPOSE_ENV)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@pytest.fixture(scope="session")
def compose_model(validator) -> dict:
    """deploy/compose/compose.yaml as compose-go resolves it (what `docker compose config` prints)."""
    result = tooling.run_validator("compose", str(tooling.DEPLOY / "compose" / "compose.yaml"), env=compose_env())
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def k8s_docs(validator) -> list[dict]:
    """deploy/k8s rendered by kustomize."""
    result = tooling.run_validator("kustomize", str(tooling.DEPLOY / "k8s"))
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]
