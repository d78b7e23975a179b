"""`make scale-demo` as an integration test: PostgreSQL, a Prefect server on it, two
workers, one sharded monitor pass over 20 loopback feeds into a DuckLake warehouse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flows.localcluster import port_open, unavailable_reason

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")
@pytest.mark.timeout(600)
def test_scale_demo_shares_a_pass_between_two_workers(tmp_path):
    out = tmp_path / "scale.json"
    done = subprocess.run([sys.executable, "-m", "flows.scale_demo", "--json", str(out), "--keep",
                           str(tmp_path / "work")], cwd=ROOT, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["problems"] == []
    assert result["run"]["state"] == "Completed"
    shards = result["shards"]
    assert len(shards) == 4 and all(s["status"] == "completed" for s in shards)
    assert {s["worker"] for s in shards} == set(result["workers"]) == {"newswatch-worker-1", "newswatch-worker-2"}
    assert sum(s["feeds_total"] for s in shards) == 20
    lake, reference = result["lake"], result["reference"]
    assert lake["articles"] == lake["distinct_articles"] == reference["articles"] > 5
    assert lake["events"] == lake["distinct_events"] == reference["events"] > 0
    assert lake["relevant_originals_without_one_root"] == 0
    assert "all checks passed" in done.stdout
    # everything it started is stopped: no PostgreSQL or Prefect server left listening
    logs = (tmp_path / "work").rglob("*.log")
    assert any(p.name == "postgres.log" for p in logs)
    ports = [int(line.split()[-1]) for line in done.stdout.splitlines() if line.startswith("[scale-demo] port ")]
    assert len(ports) == 2 and all(not port_open(p) for p in ports)
