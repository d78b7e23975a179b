"""A monitor pass shared by several Prefect workers.

With ``[run] shards = N`` (N > 1) the ``monitor`` flow becomes a parent: it splits the
enabled feeds into N shards, submits one run of the ``monitor-shard`` deployment per
shard (Prefect hands each to whichever worker of the pool is free), waits for them, and
writes the combined run report. Each shard polls, fetches, extracts and writes its own
batches. Writers take turns through the warehouse's writer lock, and duplicate decisions
are made under that lock against everything committed, so two shards storing copies of
one story at the same moment still store one original and one copy.
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger

from extractors.errors import PermanentError
from extractors.records import RunCounters, RunError
from flows.config import FeedConfig, Settings, load_settings
from warehouse import queries, store
from warehouse.connection import write_connection

SHARD_FLOW = "monitor-shard"
SHARD_DEPLOYMENT = f"{SHARD_FLOW}/newswatch-monitor-shard"
POLL_S = 2.0


def shard_feeds(feeds: tuple[FeedConfig, ...], shards: int) -> list[tuple[FeedConfig, ...]]:
    """Split feeds into at most ``shards`` non-empty groups: by name, round robin, so
    the same config always gives the same shards."""
    ordered = sorted(feeds, key=lambda f: f.name)
    groups = [tuple(ordered[i::shards]) for i in range(max(1, shards))]
    return [g for g in groups if g]


def shard_settings(settings: Settings, shard: int, shards: int) -> Settings:
    """The settings of one shard: only its feeds."""
    groups = shard_feeds(settings.enabled_feeds, shards)
    if not 0 <= shard < len(groups):
        raise ValueError(f"shard {shard} does not exist: {len(groups)} non-empty shards of {shards}")
    return dataclasses.replace(settings, feeds=groups[shard])


@flow(name=SHARD_FLOW, log_prints=True)
def monitor_shard(config_path: str | None, shard: int, shards: int, parent_run_id: str,
                  trigger: str = "manual") -> dict[str, Any]:
    """One shard of a sharded monitor pass (started by the parent ``monitor`` run)."""
    from flows.monitor import current_run_id, run_pass

    settings = shard_settings(load_settings(config_path), shard, shards)
    result = run_pass(settings, run_id=current_run_id(), flow_name=SHARD_FLOW, trigger=trigger,
                      parameters={"config_path": config_path, "shard": shard, "shards": shards},
                      parent_run_id=parent_run_id)
    return result.report.as_dict() if result.report else {"run_id": result.run_id}


def _submit_shards(config_path: str | None, run_id: str, trigger: str, count: int) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    try:
        with get_client(sync_client=True) as client:
            client.read_deployment_by_name(SHARD_DEPLOYMENT)
    except ObjectNotFound as exc:
        raise PermanentError(
            f"[run] shards > 1 needs the {SHARD_DEPLOYMENT} deployment on the Prefect server: "
            "run `newswatch deploy --pool NAME` and start workers on that pool (see README, \"Scaling out\")"
        ) from exc
    return [
        run_deployment(
            SHARD_DEPLOYMENT,
            parameters={"config_path": config_path, "shard": i, "shards": count,
                        "parent_run_id": run_id, "trigger": trigger},
            timeout=0, as_subflow=True,
        )
        for i in range(count)
    ]


def _wait_final(flow_run_ids: list[Any], timeout_s: float) -> dict[Any, Any]:
    """Poll the Prefect API until every child run is in a final state; return their states."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout_s
    states: dict[Any, Any] = {}
    with get_client(sync_client=True) as client:
        while True:
            states = {fid: client.read_flow_run(fid).state for fid in flow_run_ids}
            if all(s is not None and s.is_final() for s in states.values()):
                return states
            if time.monotonic() > deadline:
                return states
            time.sleep(POLL_S)


def combined_counters(con, run_id: str) -> RunCounters:
    """Sum the shards' counters and stage times into the parent's."""
    totals = store.fetch_dicts(con, queries.SHARD_TOTALS, [run_id])[0]
    counters = RunCounters()
    for name in ("feeds_total", "feeds_ok", "feeds_not_modified", "feeds_failed", "entries_seen",
                 "entries_new", "articles_fetched", "extraction_failed", "duplicates_url",
                 "duplicates_text", "duplicates_near", "articles_stored", "relevant_articles", "events_added"):
        setattr(counters, name, int(totals.get(name) or 0))
    for stage in ("poll", "fetch", "extract", "dedup", "classify", "write"):
        counters.clock.add(stage, float(totals.get(f"{stage}_seconds") or 0.0))
    for shard in store.fetch_dicts(con, queries.SHARDS_OF_RUN, [run_id]):
        raw = shard.get("errors")
        for e in json.loads(raw) if isinstance(raw, str) else (raw or []):
            counters.errors.append(RunError(e.get("stage") or "-", e.get("message") or "",
                                            e.get("feed"), e.get("url")))
    return counters


def run_sharded(settings: Settings, config_path: str | None, run_id: str, trigger: str,
                shards: int, timeout_s: float = 6 * 3600) -> dict[str, Any]:
    """The parent of a sharded pass: submit the shard runs, wait, write the combined report."""
    from flows.monitor import ensure_seeds, finish_and_report

    logger = get_run_logger()
    started = datetime.now(UTC)
    target = settings.warehouse_target
    with write_connection(target) as con:
        store.start_run(con, run_id, "monitor", trigger,
                        {"config_path": config_path, "shards": shards}, started)
    status, problems = "failed", []
    try:
        ensure_seeds(settings, run_id)  # once, before the shards start
        count = len(shard_feeds(settings.enabled_feeds, shards))
        children = _submit_shards(config_path, run_id, trigger, count)
        logger.info("submitted %d shard runs of %s", len(children), SHARD_DEPLOYMENT)
        states = _wait_final([c.id for c in children], timeout_s)
        for child in children:
            state = states.get(child.id)
            if state is None or not state.is_completed():
                name = state.name if state is not None else "unknown"
                problems.append(RunError("shard", f"shard run {child.name} ({child.id}) ended {name}"))
        status = "completed" if not problems else "failed"
    except Exception as exc:
        problems.append(RunError("run", f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        with write_connection(target) as con:
            counters = combined_counters(con, run_id)
        counters.errors.extend(problems)
        report = finish_and_report(target, run_id, status, counters)
    return report.as_dict() if report is not None else {"run_id": run_id}
