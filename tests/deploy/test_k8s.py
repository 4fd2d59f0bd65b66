"""deploy/k8s: rendered by kustomize, every object checked against the Kubernetes API's
own schemas (strict: unknown fields fail) for the oldest and newest versions we support,
and the workloads against the code (commands, settings, ports, probes)."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from tests.deploy.checks import SERVICE_PORT_SETTING, check_cli_command, check_frontdesk_env

K8S_VERSIONS = ("1.30.0", "1.37.0")


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def frontdesk_env(docs, container) -> dict[str, str]:
    """The FRONTDESK_* environment of a container: its envFrom ConfigMaps/Secrets, then env."""
    configmaps, secrets = by_kind(docs, "ConfigMap"), by_kind(docs, "Secret")
    env = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(configmaps[source["configMapRef"]["name"]]["data"])
        else:
            secret = secrets[source["secretRef"]["name"]]
            env.update(secret.get("stringData", {}))
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return env


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_object_matches_the_kubernetes_schema(k8s_docs, version):
    assert len(k8s_docs) > 30
    for doc in k8s_docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_schema_check_can_fail(k8s_docs):
    deployment = copy.deepcopy(by_kind(k8s_docs, "Deployment")["gateway"])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["prot"] = 50051
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[-1], strict=True)


def test_everything_lands_in_one_namespace(k8s_docs):
    namespaced = [d for d in k8s_docs if d["kind"] != "Namespace"]
    assert {d["metadata"]["namespace"] for d in namespaced} == {"frontdesk"}


def test_frontdesk_workloads_run_real_commands_with_real_settings_and_grpc_probes(k8s_docs):
    deployments = by_kind(k8s_docs, "Deployment")
    seen = set()
    for name, deployment in deployments.items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        if not container["image"].split("/")[-1].startswith("frontdesk"):
            continue
        command = container["args"][0]
        check_cli_command(command)
        seen.add(command)
        settings = check_frontdesk_env(frontdesk_env(k8s_docs, container), f"Deployment {name}")
        port = getattr(settings, SERVICE_PORT_SETTING[command])
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"]["port"] == port, (name, probe)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["grpc"] == port and ports["metrics"] == settings.metrics_port, name
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(settings.metrics_port), name
        assert settings.host == "0.0.0.0" and settings.log_store == "scylla" and settings.blob_store == "minio"
        # the image's non-root user, nothing writable but the data dir and /tmp
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        # kustomize's images: rewrote the placeholder
        assert container["image"] == "registry.example.com/frontdesk:0.1.0"
    assert seen == set(SERVICE_PORT_SETTING)


def test_every_service_selects_a_workload_and_targets_its_ports(k8s_docs):
    workloads = [*by_kind(k8s_docs, "Deployment").values(), *by_kind(k8s_docs, "StatefulSet").values()]
    for name, service in by_kind(k8s_docs, "Service").items():
        selector = service["spec"]["selector"]
        matches = [w for w in workloads if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        assert matches, f"Service {name} selects nothing"
        port_names = {
            p["name"] for w in matches for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names | {port["port"]}, (name, port)


def test_statefulsets_have_their_headless_services(k8s_docs):
    services = by_kind(k8s_docs, "Service")
    for name, sts in by_kind(k8s_docs, "StatefulSet").items():
        governing = services[sts["spec"]["serviceName"]]
        assert governing["spec"]["clusterIP"] == "None", name
        assert governing["spec"].get("publishNotReadyAddresses") is True, name


def test_every_workload_has_a_disruption_budget(k8s_docs):
    budgets = [p["spec"]["selector"]["matchLabels"] for p in by_kind(k8s_docs, "PodDisruptionBudget").values()]
    for kind in ("Deployment", "StatefulSet"):
        for name, workload in by_kind(k8s_docs, kind).items():
            labels = workload["spec"]["template"]["metadata"]["labels"]
            assert any(b.items() <= labels.items() for b in budgets), f"{kind} {name} has no PodDisruptionBudget"


def test_gateway_and_inference_autoscale_inference_on_consumer_lag(k8s_docs):
    hpas = by_kind(k8s_docs, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} >= {"gateway", "inference"}
    external = [m["external"] for m in hpas["inference"]["spec"]["metrics"] if m["type"] == "External"]
    assert external[0]["metric"]["name"] == "frontdesk_consumer_lag"
    assert external[0]["metric"]["selector"]["matchLabels"] == {"stream": "JOBS"}
    from frontdesk import busmetrics

    assert busmetrics.CONSUMER_LAG._name == "frontdesk_consumer_lag"


def test_vllm_asks_for_a_gpu_and_inference_points_at_it(k8s_docs):
    deployments = by_kind(k8s_docs, "Deployment")
    vllm = deployments["vllm"]["spec"]["template"]["spec"]["containers"][0]
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == "1"
    inference = deployments["inference"]["spec"]["template"]["spec"]["containers"][0]
    settings = check_frontdesk_env(frontdesk_env(k8s_docs, inference), "inference")
    assert settings.backend == "openai" and settings.openai_base_url == "http://vllm:8000/v1"
    assert f"--served-model-name={settings.openai_model}" in vllm["args"]
    key = next(e for e in vllm["env"] if e["name"] == "VLLM_API_KEY")["valueFrom"]["secretKeyRef"]["key"]
    assert key == "FRONTDESK_OPENAI_API_KEY"


def test_generated_configmaps_carry_the_same_files_as_compose(k8s_docs):
    from tests.deploy.tooling import DEPLOY

    configmaps = by_kind(k8s_docs, "ConfigMap")
    envoy = next(c for n, c in configmaps.items() if n.startswith("envoy-config-"))
    nats = next(c for n, c in configmaps.items() if n.startswith("nats-config-"))
    assert envoy["data"]["envoy.yaml"] == (DEPLOY / "envoy" / "envoy.yaml").read_text()
    assert nats["data"]["nats.conf"] == (DEPLOY / "nats" / "nats.conf").read_text()
    # the workloads mount the hashed names kustomize generated
    mounted = {
        v["configMap"]["name"]
        for kind in ("Deployment", "StatefulSet")
        for w in by_kind(k8s_docs, kind).values()
        for v in w["spec"]["template"]["spec"].get("volumes", [])
        if "configMap" in v
    }
    assert {envoy["metadata"]["name"], nats["metadata"]["name"]} <= mounted
