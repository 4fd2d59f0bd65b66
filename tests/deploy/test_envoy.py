"""deploy/envoy/envoy.yaml, loaded into Envoy's own protobuf API (go-control-plane) with
unknown fields and unknown typed_config types refused and every protoc-gen-validate rule
checked, typed_config payloads included. No Envoy binary is obtainable here (docs/deploy.md)."""

from __future__ import annotations

import pytest
import yaml

from gateway import grpcweb
from tests.deploy import tooling

ENVOY = tooling.DEPLOY / "envoy" / "envoy.yaml"
HCM = "envoy.filters.network.http_connection_manager"


def config() -> dict:
    return yaml.safe_load(ENVOY.read_text())


def edge_hcm(cfg: dict) -> dict:
    listener = next(item for item in cfg["static_resources"]["listeners"] if item["name"] == "edge")
    return next(f for f in listener["filter_chains"][0]["filters"] if f["name"] == HCM)["typed_config"]


def routes(cfg: dict) -> list[dict]:
    return edge_hcm(cfg)["route_config"]["virtual_hosts"][0]["routes"]


def test_envoy_config_validates(validator):
    result = tooling.run_validator("envoy", str(ENVOY))
    assert result.returncode == 0, result.stderr


def _mutations():
    def unknown_field(cfg):
        edge_hcm(cfg)["stat_prefx"] = "edge"

    def unknown_filter_type(cfg):
        edge_hcm(cfg)["http_filters"][2]["typed_config"]["@type"] = (
            "type.googleapis.com/envoy.extensions.filters.http.grpc_webb.v3.GrpcWeb"
        )

    def rule_inside_typed_config(cfg):
        edge_hcm(cfg)["http2_protocol_options"]["max_concurrent_streams"] = 0  # PGV: range [1, 2^31-1]

    def rule_in_bootstrap(cfg):
        cfg["static_resources"]["clusters"][0]["connect_timeout"] = "0s"  # PGV: > 0

    return [unknown_field, unknown_filter_type, rule_inside_typed_config, rule_in_bootstrap]


@pytest.mark.parametrize("mutate", _mutations(), ids=lambda f: f.__name__)
def test_the_validator_refuses_a_broken_config(validator, tmp_path, mutate):
    cfg = config()
    mutate(cfg)
    path = tmp_path / "envoy.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = tooling.run_validator("envoy", str(path))
    assert result.returncode != 0, "a broken config passed"


def test_grpc_web_and_cors_filters_come_before_the_router():
    names = [f["name"] for f in edge_hcm(config())["http_filters"]]
    assert names[-1] == "envoy.filters.http.router"
    assert {"envoy.filters.http.grpc_web", "envoy.filters.http.cors"} <= set(names)


def test_every_public_service_and_only_those_route_to_the_gateways_grpc_port():
    served = {f"/{svc.full_name}/" for svc in grpcweb.SERVED}
    grpc_routes = [r for r in routes(config()) if r["route"]["cluster"] == "gateway_grpc"]
    prefixes = {r["match"]["prefix"] for r in grpc_routes if "prefix" in r["match"]}
    paths = {r["match"]["path"] for r in grpc_routes if "path" in r["match"]}
    assert prefixes == served
    # exact-path routes (the streams) belong to served services too, and exist
    for path in paths:
        service, method = path.strip("/").split("/")
        descriptor = next(s for s in grpcweb.SERVED if s.full_name == service)
        assert method in descriptor.methods_by_name, path


def test_server_streams_have_no_route_timeout_and_a_long_idle_timeout():
    streaming = {f"/{svc.full_name}/{m.name}" for svc in grpcweb.SERVED for m in svc.methods if m.server_streaming}
    assert streaming, "no server-streaming RPC found"
    by_path = {r["match"].get("path"): r["route"] for r in routes(config())}
    for path in streaming:
        assert path in by_path, f"{path} has no route of its own (a prefix route's timeout would cut it)"
        assert by_path[path]["timeout"] == "0s"
        assert int(by_path[path]["idle_timeout"].rstrip("s")) >= 3600
    # and every other gRPC route has a finite timeout
    for r in routes(config()):
        if r["match"].get("path") not in streaming:
            assert r["route"]["timeout"] != "0s", r


def test_static_pages_go_to_the_web_port_and_grpc_to_the_grpc_port_over_http2():
    from frontdesk.settings import Settings

    cfg = config()
    clusters = {c["name"]: c for c in cfg["static_resources"]["clusters"]}
    assert routes(cfg)[-1] == {"match": {"prefix": "/"}, "route": {"cluster": "gateway_web", "timeout": "15s"}}

    def port(cluster):
        return cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]

    assert port(clusters["gateway_grpc"]) == {"address": "gateway", "port_value": Settings.gateway_port}
    assert port(clusters["gateway_web"]) == {"address": "gateway", "port_value": Settings.web_port}
    options = clusters["gateway_grpc"]["typed_extension_protocol_options"][
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    ]
    assert "http2_protocol_options" in options["explicit_http_config"]
    assert clusters["gateway_grpc"]["health_checks"][0]["grpc_health_check"] == {"service_name": ""}
    # every route names a defined cluster
    for listener in cfg["static_resources"]["listeners"]:
        for f in listener["filter_chains"][0]["filters"]:
            for vh in f["typed_config"]["route_config"]["virtual_hosts"]:
                for r in vh["routes"]:
                    assert r["route"]["cluster"] in clusters


def test_circuit_breaker_admits_the_streams_the_gateways_hold():
    cluster = next(c for c in config()["static_resources"]["clusters"] if c["name"] == "gateway_grpc")
    # Envoy's default is 1,024 requests in flight; one gateway held 10,000 streams
    assert cluster["circuit_breakers"]["thresholds"][0]["max_requests"] >= 20_000


def test_cors_matches_the_gateways_own_grpc_web_edge():
    policy = edge_hcm(config())["route_config"]["virtual_hosts"][0]["typed_per_filter_config"][
        "envoy.filters.http.cors"
    ]
    allowed = {h.strip() for h in policy["allow_headers"].split(",")}
    exposed = {h.strip() for h in policy["expose_headers"].split(",")}
    assert set(grpcweb.CORS_ALLOW_HEADERS) <= allowed
    assert set(grpcweb.CORS_EXPOSE_HEADERS) <= exposed
