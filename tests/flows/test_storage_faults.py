"""Storage faults: a full disk and a missing seed corpus give a clear error; data stays intact."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from extractors.errors import ConfigError
from extractors.neardup import DedupSettings
from extractors.seeds import load_seed_articles
from flows.storing import analyse, store_batch
from tests.flows.conftest import write_config
from warehouse.connection import write_connection
from warehouse.readonly import run_query

NEWSWATCH = [sys.executable, "-m", "flows.cli"]


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_full_disk_fails_the_run_cleanly_and_keeps_data(small_disk, tmp_path, news_site):
    server, feeds = news_site
    db = small_disk / "w.duckdb"
    seeds = load_seed_articles()
    settings = DedupSettings()
    with write_connection(db) as con:
        store_batch(con, seeds, analyse(seeds, settings), settings)
        con.execute("CHECKPOINT")
    filler = small_disk / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    config = write_config(tmp_path / "c.toml", server.base_url, feeds, db)
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL", None)
    result = subprocess.run([*NEWSWATCH, "run", "--config", str(config)], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "space" in result.stderr.lower() or "disk" in result.stderr.lower(), result.stderr
    assert "Traceback" not in result.stderr.split("newswatch: ")[-1]
    filler.unlink()
    _, rows = run_query(db, "SELECT origin, count(*) FROM articles GROUP BY 1")
    assert rows == [("seed", 5)]
    _, events = run_query(db, "SELECT count(*) > 0 FROM events")
    assert events == [(True,)]


def test_missing_seed_corpus_is_a_clear_config_error(tmp_path):
    with pytest.raises(ConfigError, match="seed manifest .* not found"):
        load_seed_articles(tmp_path)
    shutil.copy(load_seed_articles.__globals__["DEFAULT_SEED_DIR"] / "manifest.toml", tmp_path / "manifest.toml")
    with pytest.raises(ConfigError, match="listed in the manifest is missing"):
        load_seed_articles(tmp_path)
