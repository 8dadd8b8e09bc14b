"""Fetching the configured quote sources into the one LiveMarket, each on its own schedule.

    poller = QuotePoller(market, sources, session, pool)
    await poller.restore()   # the last good quotes stored, judged fresh or not as any other
    poller.start()
    ...
    await poller.close()

One task per source: fetch, parse, check each observation (the market keeps
the previous good value when one is not news), store the good ones. A source
that fails backs off like a circuit breaker: after each failure in a row the
wait doubles from the source's interval up to MAX_BACKOFF, and the next
fetch is the trial. Its quotes go on being used until they are stale, then
the bots talk about that subject without numbers. One log line when a source
starts failing (with the reason) and one when it recovers; a rejected value
is logged when its reason changes, not at every fetch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
import asyncpg
import structlog

from piyasa_bot.db import quote_store
from piyasa_bot.db.retry import DATABASE_ERRORS
from piyasa_bot.market_config import QuoteSource
from piyasa_bot.quotes import fetch, parsers
from piyasa_bot.quotes.live_market import Held, LiveMarket, SourceRule
from piyasa_bot.quotes.observation import Observation, SourceError
from piyasa_bot.rounds import Job, Rounds

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
MAX_BACKOFF = 1800.0  # a failing source is tried at least every 30 minutes
FETCH_TIMEOUT = 10.0


def utc_now() -> datetime:
    return datetime.now(UTC)


def rules_of(sources: Sequence[QuoteSource]) -> dict[str, SourceRule]:
    return {source.name: SourceRule(source.stale_after, daily=source.kind == "tcmb") for source in sources}


@dataclass
class SourceState:
    """How one source is doing, for /metrics (the database copy is for `status`)."""

    kind: str
    failures: int = 0  # in a row
    fetches: int = 0
    failed_fetches: int = 0
    rejected: int = 0  # observations that were not news
    last_error: str | None = None
    rejections: dict[str, str] = field(default_factory=dict)  # symbol -> the reason last logged

    @property
    def up(self) -> bool:
        return self.failures == 0 and self.fetches > 0


class QuotePoller:
    def __init__(
        self,
        market: LiveMarket,
        sources: Sequence[QuoteSource],
        session: aiohttp.ClientSession,
        pool: asyncpg.Pool | None,
        *,
        clock: Clock = utc_now,
        timeout: float = FETCH_TIMEOUT,
    ) -> None:
        self.market = market
        self.sources = list(sources)
        self.session = session
        self.pool = pool
        self.clock = clock
        self.timeout = timeout
        self.states = {source.name: SourceState(source.kind) for source in self.sources}
        self._rounds = Rounds("quotes.poll_crashed")

    async def restore(self) -> None:
        """Load the last good quotes stored (by this runner before a restart, or by another)."""
        if self.pool is None:
            return
        try:
            self.market.restore(await quote_store.load_quotes(self.pool))
        except DATABASE_ERRORS as error:
            log.warning("quotes.restore_failed", error=type(error).__name__)

    def start(self) -> None:
        self._rounds.start("quotes", [self._job(source) for source in self.sources])

    async def close(self) -> None:
        await self._rounds.close()

    async def fetched(self, name: str) -> None:
        """Wait until source `name` completed a fetch (good or failed) after this call: for tests."""
        await self._rounds.completed(name)

    async def poll_once(self, source: QuoteSource) -> bool:
        """One fetch of `source` into the market; False when it failed."""
        state = self.states[source.name]
        state.fetches += 1
        now = self.clock()
        try:
            observations = await self._fetch(source)
        except SourceError as error:
            self._failed(source, state, str(error))
            await self._record(source, now, str(error))
            return False
        good = self._keep(source, state, observations, now)
        if state.failures:
            log.info("quotes.source_recovered", source=source.name, after_failures=state.failures)
        state.failures, state.last_error = 0, None
        await self._record(source, now, None)
        await self._store(good)
        return True

    # -- one source --------------------------------------------------------------------

    def _job(self, source: QuoteSource) -> Job:
        state = self.states[source.name]

        def crashed() -> None:
            state.failures += 1  # a bug backs off like a failure

        return Job(source.name, lambda: self.poll_once(source), lambda: self._delay(source), crashed)

    def _delay(self, source: QuoteSource) -> float:
        failures = self.states[source.name].failures
        if failures == 0:
            return source.every
        return min(source.every * 2 ** min(failures, 16), max(MAX_BACKOFF, source.every))

    async def _fetch(self, source: QuoteSource) -> list[Observation]:
        wanted = source.source_symbols()
        if source.kind == "tcmb":
            body = await self._get(fetch.tcmb_url(source.base_url), "application/xml")
            return parsers.parse_tcmb(body, source=source.name, wanted=wanted)
        if source.kind == "binance":
            body = await self._get(fetch.binance_url(source.base_url, list(wanted.values())), "application/json")
            return parsers.parse_binance_24hr(body, source=source.name, wanted=wanted)
        return await self._fetch_yahoo(source, wanted)

    async def _fetch_yahoo(self, source: QuoteSource, wanted: dict[str, str]) -> list[Observation]:
        """One chart request per symbol; the source fails only when every one of them does."""
        observations: list[Observation] = []
        errors: list[tuple[str, str]] = []  # (our code, what was wrong)
        for code, ticker in wanted.items():
            try:
                body = await self._get(fetch.yahoo_url(source.base_url, ticker), "application/json")
                observations.append(parsers.parse_yahoo_chart(body, source=source.name, symbol=code))
            except SourceError as problem:
                errors.append((code, str(problem)))
        if errors and not observations:
            first, reason = errors[0]
            more = f" (and {len(errors) - 1} more symbols)" if len(errors) > 1 else ""
            raise SourceError(f"{first}: {reason}{more}")
        for symbol, reason in errors:
            self._reject(source, self.states[source.name], symbol, reason)
        return observations

    async def _get(self, url: str, accept: str) -> bytes:
        return await fetch.fetch_body(self.session, url, timeout=self.timeout, accept=accept)

    def _keep(
        self, source: QuoteSource, state: SourceState, observations: list[Observation], now: datetime
    ) -> list[Held]:
        good: list[Held] = []
        for observation in observations:
            reason = self.market.observe(observation, now)
            kept = self.market.kept(observation.symbol, observation.source) if reason is None else None
            if kept is not None:
                state.rejections.pop(observation.symbol, None)
                good.append(kept)  # as the market kept it: a daily fixing gets its previous close there
            elif reason is not None:
                self._reject(source, state, observation.symbol, reason)
        return good

    def _reject(self, source: QuoteSource, state: SourceState, symbol: str, reason: str) -> None:
        state.rejected += 1
        if state.rejections.get(symbol) != reason:
            state.rejections[symbol] = reason
            log.warning("quotes.rejected", source=source.name, symbol=symbol, reason=reason, kept="the previous value")

    def _failed(self, source: QuoteSource, state: SourceState, reason: str) -> None:
        state.failed_fetches += 1
        state.failures += 1
        if state.failures == 1 or reason != state.last_error:
            log.warning("quotes.source_failed", source=source.name, reason=reason, retry_in=self._delay(source))
        state.last_error = reason

    async def _record(self, source: QuoteSource, at: datetime, error: str | None) -> None:
        if self.pool is None:
            return
        try:
            await quote_store.record_source(self.pool, source.name, source.kind, at, error)
        except DATABASE_ERRORS as db_error:
            log.warning("quotes.record_failed", source=source.name, error=type(db_error).__name__)

    async def _store(self, good: list[Held]) -> None:
        if self.pool is None or not good:
            return
        try:
            await quote_store.save_quotes(self.pool, good)
        except DATABASE_ERRORS as error:
            log.warning("quotes.store_failed", error=type(error).__name__)
