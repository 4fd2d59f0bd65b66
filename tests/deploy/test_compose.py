"""deploy/compose/compose.yaml, resolved by compose-go (the loader of `docker compose`)."""

from __future__ import annotations

import pytest
import yaml

from tests.deploy import tooling
from tests.deploy.checks import SERVICE_PORT_SETTING, check_cli_command, check_frontdesk_env
from tests.deploy.conftest import compose_env

COMPOSE = tooling.DEPLOY / "compose" / "compose.yaml"
FRONTDESK_SERVICES = set(SERVICE_PORT_SETTING)


def frontdesk_services(model: dict) -> dict[str, dict]:
    return {name: svc for name, svc in model["services"].items() if svc.get("image", "").startswith("frontdesk")}


def test_the_compose_file_loads_with_the_compose_spec(compose_model):
    expected = {
        "envoy",
        "vllm",
        "nats-1",
        "nats-2",
        "nats-3",
        "scylla",
        "minio",
        "prometheus",
        "grafana",
        *FRONTDESK_SERVICES,
    }
    assert expected <= set(compose_model["services"])


@pytest.mark.parametrize(
    "variable", sorted({"FRONTDESK_SECRET", "MINIO_ROOT_PASSWORD", "VLLM_API_KEY", "GRAFANA_ADMIN_PASSWORD"})
)
def test_a_missing_secret_is_refused(validator, variable):
    result = tooling.run_validator("compose", str(COMPOSE), env=compose_env(**{variable: None}))
    assert result.returncode != 0
    assert variable in result.stderr


def test_a_misspelled_key_is_refused(validator, tmp_path):
    broken = yaml.safe_load(COMPOSE.read_text())
    broken["services"]["gateway"]["comand"] = broken["services"]["gateway"].pop("command")
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken))
    result = tooling.run_validator("compose", str(path), env=compose_env())
    assert result.returncode != 0
    assert "comand" in result.stderr


def test_every_frontdesk_service_runs_a_real_command_with_real_settings(compose_model):
    services = frontdesk_services(compose_model)
    assert {svc["command"][0] for svc in services.values()} == FRONTDESK_SERVICES
    for name, svc in services.items():
        check_cli_command(svc["command"][0])
        settings = check_frontdesk_env(svc["environment"], f"compose service {name}")
        command = svc["command"][0]
        assert settings.host == "0.0.0.0", f"{name} must listen on every interface in a container"
        assert settings.metrics_port, f"{name} has no metrics port"
        # its gRPC port is the one its healthcheck probes
        port = getattr(settings, SERVICE_PORT_SETTING[command])
        assert f"127.0.0.1:{port}" in " ".join(svc["healthcheck"]["test"]), name
        # the services share one signing secret, NATS, Scylla and MinIO
        assert settings.secret == "test-secret-0123456789"
        assert settings.log_store == "scylla" and settings.blob_store == "minio"
        assert [u.split("//")[1] for u in settings.nats_servers] == ["nats-1:4222", "nats-2:4222", "nats-3:4222"]


def test_services_address_each_other_at_their_ports(compose_model):
    services = frontdesk_services(compose_model)
    by_command = {svc["command"][0]: check_frontdesk_env(svc["environment"], name) for name, svc in services.items()}
    gateway = by_command["gateway"]
    assert gateway.conversation_target == f"conversation:{by_command['conversation'].conversation_port}"
    assert gateway.inference_target == f"inference:{by_command['inference'].inference_port}"
    assert gateway.speech_target == f"speech:{by_command['speech'].speech_port}"
    assert gateway.analytics_target == f"analytics:{by_command['analytics'].analytics_port}"


def test_gateway_runs_two_replicas_behind_envoy(compose_model):
    assert compose_model["services"]["gateway"]["deploy"]["replicas"] == 2
    assert "ports" not in compose_model["services"]["gateway"]
    published = [p["published"] for p in compose_model["services"]["envoy"]["ports"]]
    assert published == ["8080"]


def test_inference_talks_to_the_vllm_node(compose_model):
    inference = check_frontdesk_env(compose_model["services"]["inference"]["environment"], "inference")
    vllm = compose_model["services"]["vllm"]
    assert inference.backend == "openai"
    assert inference.openai_base_url == "http://vllm:8000/v1"
    assert f"--served-model-name={inference.openai_model}" in vllm["command"]
    assert vllm["environment"]["VLLM_API_KEY"] == inference.openai_api_key
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"] and devices[0]["count"] == 1


def test_config_files_and_build_context_exist(compose_model):
    for name, config in compose_model["configs"].items():
        assert tooling.Path(config["file"]).is_file(), name
    build = compose_model["services"]["gateway"]["build"]
    assert (tooling.Path(build["context"]) / build["dockerfile"]).is_file()
    for svc in compose_model["services"].values():
        for volume in svc.get("volumes", []):
            if volume["type"] == "bind":
                assert tooling.Path(volume["source"]).exists(), volume["source"]


def test_env_example_names_every_required_variable():
    names = {
        line.split("=", 1)[0]
        for line in (COMPOSE.parent / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert {"FRONTDESK_SECRET", "MINIO_ROOT_PASSWORD", "VLLM_API_KEY", "GRAFANA_ADMIN_PASSWORD"} <= names
