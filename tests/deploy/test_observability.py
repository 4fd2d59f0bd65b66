"""Prometheus configuration, alert rules and the Grafana dashboards against the services'
real metrics: Prometheus' own loaders and PromQL parser (deploy/validate), and the metric
families the services register with prometheus_client."""

from __future__ import annotations

import importlib
import json
import re

import pytest
import yaml

from tests.deploy import tooling
from tests.deploy.checks import check_frontdesk_env

PROMETHEUS = tooling.DEPLOY / "prometheus" / "prometheus.yml"
RULES = tooling.DEPLOY / "prometheus" / "rules.yml"
GRAFANA = tooling.DEPLOY / "grafana"
SERVICE_MODULES = ("gateway.server", "conversation.server", "inference.server", "speech.server", "analytics.server")
# series Prometheus makes itself
BUILTIN_SERIES = {"up"}


@pytest.fixture(scope="module")
def service_series() -> set[str]:
    """Every series name the services can export (their registered metric families)."""
    from prometheus_client import REGISTRY

    for module in SERVICE_MODULES:
        importlib.import_module(module)
    names = set()
    for family in REGISTRY.collect():
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_sum", "_count"),
            "summary": ("_sum", "_count"),
            "gauge": ("",),
        }.get(family.type, ("",))
        names.update(family.name + s for s in suffixes)
    assert "frontdesk_rpc_total" in names
    return names


def grafana_to_promql(expr: str) -> str:
    # Grafana fills these in before Prometheus sees the query
    return expr.replace("$__rate_interval", "1m").replace("$__interval", "1m").replace("$job", ".*")


def dashboard_exprs() -> list[str]:
    exprs = []
    for path in sorted((GRAFANA / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            exprs.extend(grafana_to_promql(t["expr"]) for t in panel.get("targets", []))
    return exprs


def rule_exprs() -> list[str]:
    return [r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def test_prometheus_config_and_rules_load(validator):
    result = tooling.run_validator("prometheus", str(PROMETHEUS))
    assert result.returncode == 0, result.stderr


def test_a_broken_rule_is_refused(validator, tmp_path):
    groups = yaml.safe_load(RULES.read_text())
    groups["groups"][0]["rules"][0]["expr"] = "up{job= == 0"
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(groups))
    config = yaml.safe_load(PROMETHEUS.read_text())
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = tooling.run_validator("prometheus", str(tmp_path / "prometheus.yml"))
    assert result.returncode != 0
    assert "parse error" in result.stderr


def test_a_misspelled_scrape_option_is_refused(validator, tmp_path):
    config = yaml.safe_load(PROMETHEUS.read_text())
    config["scrape_configs"][0]["scrape_intervall"] = "5s"
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "rules.yml").write_text(RULES.read_text())
    result = tooling.run_validator("prometheus", str(tmp_path / "prometheus.yml"))
    assert result.returncode != 0


def test_every_frontdesk_service_is_scraped_at_its_metrics_port(compose_model):
    jobs = {job["job_name"]: job for job in yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]}
    for name, svc in compose_model["services"].items():
        if not svc.get("image", "").startswith("frontdesk"):
            continue
        settings = check_frontdesk_env(svc["environment"], name)
        job = jobs[svc["command"][0]]
        # DNS discovery: every replica (gateway runs two) is a target
        assert job["dns_sd_configs"] == [
            {**job["dns_sd_configs"][0], "names": [name], "type": "A", "port": settings.metrics_port}
        ], name


def test_dashboard_and_rule_queries_parse_and_use_real_metrics(validator, service_series):
    exprs = dashboard_exprs() + rule_exprs()
    assert len(exprs) >= 15
    for item in tooling.promql_metrics(exprs):
        unknown = [m for m in item["metrics"] if m not in service_series | BUILTIN_SERIES]
        assert not unknown, f"{item['expr']}: no service exports {unknown}"


def test_promql_check_catches_an_unknown_metric(validator, service_series):
    [item] = tooling.promql_metrics(["rate(frontdesk_rpcs_total[5m])"])
    assert item["metrics"] == ["frontdesk_rpcs_total"]
    assert "frontdesk_rpcs_total" not in service_series


def test_the_dashboard_covers_what_operators_watch():
    text = " ".join(dashboard_exprs())
    for metric in (
        "frontdesk_rpc_total",
        "frontdesk_rpc_seconds_bucket",
        "frontdesk_consumer_lag",
        "frontdesk_stream_messages",
        "frontdesk_first_token_seconds_bucket",
        "frontdesk_model_tokens_total",
        "frontdesk_open_event_streams",
    ):
        assert metric in text, metric
    assert re.search(r'outcome="handed_off"', text), "handoffs"


def test_grafana_provisioning_points_at_the_dashboards_and_prometheus():
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    [ds] = datasource["datasources"]
    assert ds["type"] == "prometheus" and ds["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "frontdesk.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    for path in (GRAFANA / "dashboards").glob("*.json"):
        dashboard = json.loads(path.read_text())
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                assert target["datasource"]["uid"] == ds["uid"], path.name
