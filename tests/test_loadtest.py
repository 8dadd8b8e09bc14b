"""The reference scenario, short: 50 bots, 100 people, 25-30 s at seven or eight times the pace."""

from __future__ import annotations

import io

import pytest

from piyasa_bot.db.embedded import EmbeddedPostgres
from piyasa_bot.loadtest.harness import run_loadtest
from piyasa_bot.loadtest.measure import measure
from piyasa_bot.loadtest.options import LoadtestOptions
from piyasa_bot.loadtest.report import criteria, markdown

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300), pytest.mark.xdist_group("loadtest")]


def assert_nothing_lost_and_everyone_answered(options: LoadtestOptions, results) -> None:
    failed = [c for c in criteria(results, options) if not c.passed]
    assert failed == [], markdown(results, options, "chart.svg")
    assert results.delivered == results.human_messages > 500
    assert results.stored == results.delivered and results.lost == 0 and results.duplicates == 0
    assert results.addressed > 100 and results.answered == results.addressed and results.double_answers == 0
    assert sum(results.violations.values()) == 0


async def test_reference_scenario_short_loses_nothing_and_answers_everyone(server_dsn: str) -> None:
    options = LoadtestOptions(duration=25, rate_multiplier=8, seed=3)
    results = measure(await run_loadtest(server_dsn, options, io.StringIO()))
    assert_nothing_lost_and_everyone_answered(options, results)


async def test_reference_scenario_short_with_faults_and_a_database_outage(spare_postgres: EmbeddedPostgres) -> None:
    options = LoadtestOptions(
        duration=30, rate_multiplier=7, seed=4, fault_429=0.05, fault_5xx=0.05, slow_api_ms=20, db_outage=4
    )
    results = measure(await run_loadtest(spare_postgres.dsn(), options, io.StringIO(), spare_postgres))
    assert_nothing_lost_and_everyone_answered(options, results)
    assert results.sends_rate_limited > 0  # the injected 429s were met and retried
