"""The monitor and reprocess flows on the DuckLake backend give what they give on a DuckDB file."""

from __future__ import annotations

import pytest

from flows.config import load_settings
from flows.localcluster import postgres, unavailable_reason
from flows.monitor import monitor
from flows.reprocess import reprocess
from tests.flows.conftest import write_config
from warehouse.readonly import run_query

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    with postgres(tmp_path_factory.mktemp("pg")) as server:
        yield server


def lake_config(tmp_path, pg, server, feeds):
    pg.create_database("flows_lake")
    unused = tmp_path / "unused.duckdb"
    config = write_config(tmp_path / "lake.toml", server.base_url, feeds, unused)
    text = config.read_text().replace(
        f'[warehouse]\npath = "{unused}"\n',
        f'[warehouse]\nbackend = "ducklake"\ncatalog = "{pg.libpq_dsn("flows_lake")}"\n'
        f'data_path = "{tmp_path / "lake"}"\n')
    config.write_text(text)
    return config


def test_monitor_then_reprocess_on_ducklake(prefect_harness, news_site, tmp_path, pg):
    server, feeds = news_site
    config = str(lake_config(tmp_path, pg, server, feeds))
    target = load_settings(config).warehouse_target

    first = monitor(config_path=config)["run"]
    assert first["status"] == "completed"
    assert first["entries_new"] == 8 and first["articles_stored"] == 8 and first["duplicates_text"] == 1
    assert first["feeds_failed"] == 1 and first["extraction_failed"] == 1

    second = monitor(config_path=config)["run"]
    assert second["feeds_not_modified"] == 2 and second["articles_stored"] == 0

    _, before = run_query(target, "SELECT count(*), count(DISTINCT article_id) FROM articles")
    _, events_before = run_query(target, "SELECT count(*), count(DISTINCT event_id) FROM events")
    report = reprocess(stage="all", config_path=config)["run"]
    assert report["status"] == "completed" and report["articles_reprocessed"] == 13
    _, after = run_query(target, "SELECT count(*), count(DISTINCT article_id) FROM articles")
    _, events_after = run_query(target, "SELECT count(*), count(DISTINCT event_id) FROM events")
    assert before == after == [(13, 13)]
    assert events_before == events_after and events_after[0][0] == events_after[0][1] > 0
    _, states = run_query(target, "SELECT name, last_status FROM feeds ORDER BY name")
    assert states == [("broken", "failed"), ("main", "not_modified"), ("second", "not_modified")]
    _, runs = run_query(target, "SELECT flow, status FROM runs ORDER BY started_at")
    assert runs == [("monitor", "completed"), ("monitor", "completed"), ("reprocess", "completed")]
