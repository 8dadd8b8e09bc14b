"""deploy/ stays true to the code: the dashboard asks for series a real scrape has, the example environment
names exactly what Settings reads, the systemd unit runs the runner and gives it time to stop."""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from piyasa_bot.answering import AnswerCounts
from piyasa_bot.cli import CONFIG_INVALID, build_parser
from piyasa_bot.commands.run import STOP_DEADLINE
from piyasa_bot.fleet.assignment import LeaseKey
from piyasa_bot.metrics import TimedIngest
from piyasa_bot.metrics_server import MetricsServer
from piyasa_bot.polling import BotState
from piyasa_bot.quotes.live_market import LiveMarket, SourceRule
from piyasa_bot.quotes.metrics import QuoteCollector
from piyasa_bot.quotes.observation import Observation
from piyasa_bot.quotes.poller import SourceState
from piyasa_bot.reactions import ReactionCounts
from piyasa_bot.redaction import TOKEN_SHAPE, looks_like_token
from piyasa_bot.sending.status import LimitHolds, OutboxCounts
from piyasa_bot.settings import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "piyasa_bot.json"
UNIT = DEPLOY / "systemd" / "piyasa-bot.service"
ENV_EXAMPLE = DEPLOY / "systemd" / "piyasa-bot.env.example"
DOCS = (DEPLOY / "README.md", DEPLOY.parent / "README.md")

# What Prometheus adds to every scraped series (target labels), and the series it makes itself.
TARGET_LABELS = frozenset({"instance", "job"})
PROMETHEUS_SERIES = {"up": frozenset[str]()}
# A series in a PromQL expression: one of ours, prometheus_client's process collector's, or `up`.
SERIES = re.compile(r"\b(piyasa_\w+|process_\w+|up)\b(\{[^}]*\})?")
MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")
LABEL_VALUES = re.compile(r"^label_values\((.+),\s*(\w+)\)$")
ASSIGNMENT = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$")


# -- a real scrape ----------------------------------------------------------------------------------


def runner_view() -> Any:
    """The runner's read attributes with every part present, so that each metric family is rendered.

    The counts are the runner's own classes; only the containers are stand-ins (as in test_metrics.py).
    """
    ingest = TimedIngest(None, SimpleNamespace(stored=3, skipped_copies=6), None)
    ingest.updates_received = 9
    ingest.latency.observe(0.02)
    return SimpleNamespace(
        pool=None,  # piyasa_database_up is rendered (0) all the same
        pollers={
            "ayse": SimpleNamespace(
                state=BotState.RUNNING, errors={"retry_after": 1}, poll_timeout=25, last_polled_at=time.monotonic()
            )
        },
        ingest=ingest,
        writer=SimpleNamespace(rows_written=4, batches_written=2, write_failures=0, backlog=0, max_backlog=3),
        outbox=SimpleNamespace(counts=OutboxCounts(sent=1), backlog=0, holds=lambda: LimitHolds(chat=1)),
        rooms=SimpleNamespace(
            counts=AnswerCounts(addressed=1, skipped={"paused": 1}),
            reactions=SimpleNamespace(counts=ReactionCounts(skipped={"has one": 1})),
        ),
        fenced=False,
        fleet=SimpleNamespace(held={LeaseKey("bot", "ayse"): 1, LeaseKey("chat", "-1001"): 1}, live=["vm:1:ab"]),
    )


def quote_collector() -> QuoteCollector:
    now = datetime.now(UTC)
    market = LiveMarket({"tcmb": SourceRule(stale_after=3600)})
    market.observe(Observation("USDTRY", 34.5, 34.4, now, "tcmb"), now)
    poller: Any = SimpleNamespace(states={"tcmb": SourceState("tcmb")})
    return QuoteCollector(market, poller, lambda: now)


@pytest.fixture
async def scraped() -> dict[str, frozenset[str]]:
    """Sample name -> its label names, from GET /metrics of a MetricsServer on a free port."""
    server = MetricsServer(runner_view(), "127.0.0.1", 0, collectors=[quote_collector()])
    await server.start()
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{server.url}/metrics") as response:
            assert response.status == 200
            text = await response.text()
    finally:
        await server.stop()
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    return {name: frozenset(names) for name, names in labels.items()}


# -- the dashboard ----------------------------------------------------------------------------------


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def panels(within: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside a collapsed row."""
    for panel in within:
        yield panel
        yield from panels(panel.get("panels", []))


def queries() -> list[tuple[str, str, str]]:
    """(panel title, PromQL expression, legend format) of every target."""
    return [
        (panel["title"], target["expr"], target.get("legendFormat", ""))
        for panel in panels(dashboard()["panels"])
        for target in panel.get("targets", [])
    ]


def series_in(expr: str) -> list[tuple[str, list[str]]]:
    """(series name, label names it is matched on) for each series the expression reads."""
    return [(name, MATCHER.findall(braces or "")) for name, braces in SERIES.findall(expr)]


def known(scraped: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    return {**scraped, **PROMETHEUS_SERIES}


def test_the_dashboard_is_grafana_json_whose_panels_query_the_chosen_prometheus() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 36 and board["uid"] and board["title"]
    everything = list(panels(board["panels"]))
    shown = [panel for panel in everything if panel["type"] != "row"]
    assert len(shown) >= 20
    assert len({panel["id"] for panel in everything}) == len(everything)
    for panel in shown:
        assert panel["targets"] and all(target["expr"].strip() for target in panel["targets"]), panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, panel["title"]
        assert panel["gridPos"]["x"] >= 0 and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    assert "bot" in variables and variables["bot"]["type"] == "query"


def unknown_in(expr: str, legend: str, series: dict[str, frozenset[str]]) -> list[str]:
    """The series, matched labels, grouping labels and legend labels of one query that no scrape has."""
    unknown: list[str] = []
    available = set(TARGET_LABELS)
    for name, matched in series_in(expr):
        if name not in series:
            unknown.append(name)
            continue
        available |= series[name]
        unknown += [f"{name}{{{label}}}" for label in matched if label not in series[name] | TARGET_LABELS]
    grouped = [label.strip() for labels in GROUPING.findall(expr) for label in labels.split(",") if label.strip()]
    unknown += [f"by ({label})" for label in grouped if label not in available]
    unknown += [f"legend {{{{{label}}}}}" for label in LEGEND_LABEL.findall(legend) if label not in available]
    return unknown


def test_every_series_label_and_legend_on_the_dashboard_is_in_a_real_scrape(
    scraped: dict[str, frozenset[str]],
) -> None:
    series = known(scraped)
    assert all(series_in(expr) for _, expr, _ in queries())
    missing = [f"{title}: {what}" for title, expr, legend in queries() for what in unknown_in(expr, legend, series)]
    assert missing == []


def test_the_template_variables_list_label_values_that_exist(scraped: dict[str, frozenset[str]]) -> None:
    series = known(scraped)
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] != "query":
            continue
        match = LABEL_VALUES.match(variable["definition"])
        assert match, variable["definition"]
        (name, _), label = series_in(match.group(1))[0], match.group(2)
        assert label in series[name] | TARGET_LABELS, variable["definition"]
    bot = next(v for v in dashboard()["templating"]["list"] if v["name"] == "bot")
    assert "bot" in series[series_in(bot["definition"])[0][0]]


def test_every_metric_the_runner_exposes_has_a_panel(scraped: dict[str, frozenset[str]]) -> None:
    used = {name for _, expr, _ in queries() for name, _ in series_in(expr)}
    # A histogram is shown through its buckets, or its sum and count.
    ours = {re.sub(r"_(bucket|sum|count)$", "", name) for name in scraped if name.startswith("piyasa_")}
    shown = {re.sub(r"_(bucket|sum|count)$", "", name) for name in used}
    assert ours - shown == set()
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes"} <= used


def test_ingest_latency_is_shown_as_p50_p95_and_p99_of_the_histogram() -> None:
    latency = [expr for _, expr, _ in queries() if "piyasa_ingest_latency_seconds_bucket" in expr]
    quantiles = {float(q) for expr in latency for q in re.findall(r"histogram_quantile\(([\d.]+)", expr)}
    assert quantiles == {0.5, 0.95, 0.99}
    assert all("by (le)" in expr for expr in latency)


# -- the environment example -------------------------------------------------------------------------


def example_assignments() -> dict[str, str]:
    """Variable -> value of every line that sets one, commented out (a default shown) or not."""
    found: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if match := ASSIGNMENT.match(line.strip()):
            assert match.group(1) not in found, f"{match.group(1)} twice"
            found[match.group(1)] = match.group(2)
    return found


def settings_variables() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias: Any = field.validation_alias
        names.update(alias.choices)
    return names


def test_the_env_example_names_exactly_the_variables_settings_reads() -> None:
    assert set(example_assignments()) == settings_variables()


def test_the_env_example_holds_placeholders_and_nothing_shaped_like_a_token() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    assert TOKEN_SHAPE.search(text) is None
    words = re.split(r"[\s=,'\"`]+", text)
    assert not [word for word in words if looks_like_token(word)]
    for name, value in example_assignments().items():
        if any(part in name for part in ("SECRET", "KEY")):
            assert "REPLACE" in value, f"{name} should be a placeholder"
    assert re.search(r"://[^:/]+:CHANGE-ME@", example_assignments()["DATABASE_URL"])


def test_settings_read_the_env_example_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in settings_variables():
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=ENV_EXAMPLE)  # pydantic-settings: read this file instead of .env
    assert settings.data_dir == Path("/var/lib/piyasa-bot")
    assert settings.config == Path("/etc/piyasa-bot/bots.yaml")
    assert settings.metrics_port == 9470 and settings.metrics_host == "127.0.0.1"
    assert settings.console_port is None and settings.llm_base_url is None  # commented out: the defaults


# -- the systemd unit --------------------------------------------------------------------------------


def unit_sections() -> dict[str, dict[str, list[str]]]:
    """[Section] -> key -> values (a key may repeat), as systemd reads the file."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(UNIT.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if header := re.fullmatch(r"\[(\w+)\]", line):
            current = sections.setdefault(header.group(1), {})
            continue
        key, equals, value = line.partition("=")
        assert current is not None and equals and re.fullmatch(r"[A-Za-z]+", key), f"line {number}: {raw}"
        current.setdefault(key, []).append(value)
    return sections


def test_the_unit_has_its_sections_and_runs_the_runner_from_its_venv() -> None:
    sections = unit_sections()
    assert list(sections) == ["Unit", "Service", "Install"]
    service = {key: values[-1] for key, values in sections["Service"].items()}
    assert service["ExecStart"].endswith(" -m piyasa_bot run")
    assert service["ExecStart"].split()[0] == f"{service['WorkingDirectory']}/.venv/bin/python"
    assert service["User"] == "piyasa" and service["WorkingDirectory"] == "/opt/piyasa-bot"
    assert service["EnvironmentFile"] == "/etc/piyasa-bot/env"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"  # SIGHUP: bots.yaml read again
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == str(CONFIG_INVALID)  # an invalid bots.yaml: no restart loop
    assert sections["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_unit_stops_with_sigterm_and_waits_longer_than_the_runner_takes() -> None:
    service = {key: values[-1] for key, values in unit_sections()["Service"].items()}
    assert service["KillSignal"] == "SIGTERM"
    assert float(service["TimeoutStopSec"]) > STOP_DEADLINE + 1  # the runner ends itself by then
    assert service["KillMode"] == "mixed"  # the embedded PostgreSQL stays up while the runner flushes


def test_the_unit_is_hardened_and_may_write_only_the_data_dir_of_the_env_example() -> None:
    service = {key: values[-1] for key, values in unit_sections()["Service"].items()}
    data_dir = example_assignments()["PIYASA_DATA_DIR"]
    assert service["ProtectSystem"] == "strict" and service["ReadWritePaths"] == data_dir
    assert data_dir == f"/var/lib/{service['StateDirectory']}"
    assert f"pgdata={data_dir}/pg;" in service["ExecStopPost"]  # the embedded server it stops
    for setting in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices", "RestrictSUIDSGID"):
        assert service[setting] == "yes", setting
    assert service["CapabilityBoundingSet"] == ""


# -- the docs ----------------------------------------------------------------------------------------


def test_the_deploy_docs_name_only_commands_and_variables_that_exist() -> None:
    parser = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    variables = settings_variables()
    for doc in (*DOCS, UNIT, ENV_EXAMPLE):
        text = doc.read_text(encoding="utf-8")
        commands = set(re.findall(r"-m piyasa_bot (\w[\w-]*)", text))
        commands |= set(re.findall(r"(?:^|`)piyasa (\w[\w-]*)", text, re.MULTILINE))  # the shell function
        assert commands, doc.name
        assert commands <= set(subcommands), f"{doc.name}: {commands - set(subcommands)}"
        named = set(re.findall(r"\b((?:PIYASA|DATABASE)_[A-Z_]+)\b", text))
        # A name ending in "_" is a family (`PIYASA_LLM_*`): some variable must start with it.
        unknown = {
            name
            for name in named
            if name not in variables and not any(v.startswith(name) for v in variables if name.endswith("_"))
        }
        assert not unknown, f"{doc.name}: {unknown}"
