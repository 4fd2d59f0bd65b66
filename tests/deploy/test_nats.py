"""deploy/nats/nats.conf, checked by nats-server itself (`-t`) with the environment compose
and Kubernetes give each node."""

from __future__ import annotations

import os
import subprocess

from tests.deploy import tooling

CONF = tooling.DEPLOY / "nats" / "nats.conf"


def nats_test(conf, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(tooling.nats_server()), "-t", "-c", str(conf)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **env},
        timeout=30,
    )


def node_env(compose_model, service: str) -> dict[str, str]:
    return {k: v for k, v in compose_model["services"][service]["environment"].items() if k.startswith("NATS_")}


def test_each_compose_node_config_is_valid(compose_model):
    names = set()
    for service in ("nats-1", "nats-2", "nats-3"):
        env = node_env(compose_model, service)
        result = nats_test(CONF, env)
        assert result.returncode == 0, result.stdout + result.stderr
        names.add(env["NATS_SERVER_NAME"])
    assert names == {"nats-1", "nats-2", "nats-3"}


def test_the_kubernetes_node_config_is_valid(k8s_docs):
    sts = next(d for d in k8s_docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "nats")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env["NATS_SERVER_NAME"] = "nats-0"  # from the pod name
    result = nats_test(CONF, env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_nats_server_refuses_a_broken_config(compose_model, tmp_path):
    broken = tmp_path / "nats.conf"
    broken.write_text(CONF.read_text().replace("max_payload", "max_paylod"))
    result = nats_test(broken, node_env(compose_model, "nats-1"))
    assert result.returncode != 0
    assert "max_paylod" in result.stdout + result.stderr
    # a node started without its environment is refused too
    assert nats_test(CONF, {}).returncode != 0
