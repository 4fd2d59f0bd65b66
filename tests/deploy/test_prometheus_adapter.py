"""deploy/k8s/prometheus-adapter-values.yaml: the adapter rules that serve the HPAs'
metrics. Every rule has only the fields the adapter's config knows; its queries, rendered
the way the adapter renders them (Go templates with << >>), parse with Prometheus' own
parser and select metrics the code exports, with the labels the HPAs select on; and every
External or Pods metric of the rendered HPAs is served by a rule."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from tests.deploy import tooling
from tests.deploy.test_k8s import by_kind

VALUES = tooling.DEPLOY / "k8s" / "prometheus-adapter-values.yaml"
RULE_KEYS = {"seriesQuery", "seriesFilters", "resources", "name", "metricsQuery"}  # prometheus-adapter's DiscoveryRule
TEMPLATE = re.compile(r"<<\s*\.(\w+)\s*>>")


def exported_metrics() -> dict[str, set[str]]:
    """The gauges the services export that the adapter serves: name -> label names."""
    from frontdesk import busmetrics, metrics

    return {g._name: set(g._labelnames) for g in (busmetrics.CONSUMER_LAG, metrics.OPEN_STREAMS)}


def render(query: str, series: str, kind: str) -> str:
    """What the adapter sends Prometheus: the template with a concrete series, the label
    matchers of a request and the group-by of its resource."""
    values = {
        "Series": series,
        "LabelMatchers": 'namespace="frontdesk"' + (',stream="JOBS"' if kind == "external" else ""),
        "GroupBy": "pod" if kind == "custom" else "namespace",
    }

    def fill(m):
        if m.group(1) not in values:
            raise AssertionError(f"unknown template field {m.group(0)} in {query!r}")
        return values[m.group(1)]

    return TEMPLATE.sub(fill, query)


def served_name(rule: dict, series: str) -> str:
    name = rule.get("name", {})
    pattern, as_ = name.get("matches", "^(.*)$"), name.get("as", "$0")
    m = re.search(pattern, series)
    assert m, f"name.matches {pattern!r} does not match {series}"
    return re.sub(r"\$(\d)", lambda g: m.group(int(g.group(1))), as_)


def check(values: dict) -> dict[str, dict[str, str]]:
    """Validate the values; returns kind -> {served metric name: series}."""
    rules = values["rules"]
    assert set(rules) <= {"default", "custom", "external", "resource"}, sorted(rules)
    assert rules.get("default") is False, "only the rules listed: no default discovery"
    exported = exported_metrics()
    served: dict[str, dict[str, str]] = {"custom": {}, "external": {}}
    for kind in ("custom", "external"):
        for rule in rules.get(kind, []):
            unknown = set(rule) - RULE_KEYS
            assert not unknown, f"{kind} rule has fields the adapter does not know: {sorted(unknown)}"
            assert {"seriesQuery", "metricsQuery", "resources"} <= set(rule), rule
            overrides = rule["resources"].get("overrides", {})
            assert all(set(v) == {"resource"} for v in overrides.values()), overrides
            assert "namespace" in overrides, "series must be matched to the HPA's namespace"
            if kind == "custom":
                assert "pod" in overrides, "a Pods metric is per pod"
            names = tooling.promql_metrics([rule["seriesQuery"]])[0]["metrics"]
            assert len(names) == 1 and names[0] in exported, (
                f"{rule['seriesQuery']} selects {names}, not an exported metric"
            )
            metric = names[0]
            query = render(rule["metricsQuery"], metric, kind)
            parsed = tooling.promql_metrics([query])[0]["metrics"]
            assert parsed == [metric], (query, parsed)
            if kind == "external":
                assert "stream" in exported[metric]
            served[kind][served_name(rule, metric)] = metric
    return served


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def test_the_adapter_rules_parse_and_select_exported_metrics(values, validator):
    served = check(values)
    assert served == {
        "custom": {"frontdesk_open_event_streams": "frontdesk_open_event_streams"},
        "external": {"frontdesk_consumer_lag": "frontdesk_consumer_lag"},
    }
    assert values["prometheus"]["url"].startswith("http") and isinstance(values["prometheus"]["port"], int)


def test_every_hpa_metric_is_served_by_a_rule(values, k8s_docs, validator):
    served = check(values)
    wanted = {"custom": set(), "external": set()}
    for hpa in by_kind(k8s_docs, "HorizontalPodAutoscaler").values():
        for m in hpa["spec"]["metrics"]:
            if m["type"] == "External":
                wanted["external"].add(m["external"]["metric"]["name"])
                assert (
                    set(m["external"]["metric"].get("selector", {}).get("matchLabels", {}))
                    <= exported_metrics()[m["external"]["metric"]["name"]]
                )
            elif m["type"] == "Pods":
                wanted["custom"].add(m["pods"]["metric"]["name"])
    assert wanted["external"] == {"frontdesk_consumer_lag"}
    for kind, names in wanted.items():
        assert names <= set(served[kind]), (kind, names, served[kind])


@pytest.mark.parametrize(
    "break_it, says",
    [
        (
            lambda v: v["rules"]["external"][0].update(metricsQuery="max by (stream) (<<.Series>>{<<.LabelMatchers>>}"),
            "parse",
        ),
        (
            lambda v: v["rules"]["external"][0].update(seriesQuery='frontdesk_consumer_lags{stream!=""}'),
            "not an exported",
        ),
        (lambda v: v["rules"]["custom"][0].update(metricQuery="x"), "does not know"),
        (lambda v: v["rules"]["external"][0]["resources"].update(overrides={}), "namespace"),
    ],
)
def test_the_adapter_check_can_fail(values, validator, break_it, says):
    broken = copy.deepcopy(values)
    break_it(broken)
    with pytest.raises(AssertionError) as err:
        check(broken)
    assert says in str(err.value)
