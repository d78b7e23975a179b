"""The HTML briefing: self-contained, and rendered for real in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import lxml.html
import pytest

from extractors.neardup import DedupSettings
from extractors.seeds import load_seed_articles
from flows.briefing import write_briefing
from flows.storing import analyse, store_batch
from tests.warehouse.test_store import art
from warehouse.connection import write_connection

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("chromium is not installed (make test installs Debian's chromium when it can)")
    return found


@pytest.fixture
def briefing(tmp_path) -> Path:
    db = tmp_path / "w.duckdb"
    seeds = load_seed_articles()
    afp = next(s for s in seeds if s.article_id.startswith("seed_004"))
    batch = [*seeds, art("copy", "https://wire.example/copy", "MOSCOW (AFP) — " + afp.text)]
    settings = DedupSettings()
    with write_connection(db) as con:
        store_batch(con, batch, analyse(batch, settings), settings)
    return write_briefing(db, tmp_path / "briefing.html")


def test_briefing_is_self_contained(briefing):
    page = briefing.read_text()
    tree = lxml.html.fromstring(page)
    assert tree.xpath("//script[@src]") == [] and tree.xpath("//link[@href]") == []  # nothing to download
    assert tree.xpath("//img[starts-with(@src, 'http')]") == []
    assert page.count("Plotly.newPlot") >= 2  # timeline and places charts
    for heading in ("Events per month", "Where events happened", "Places (with coordinates)", "Latest events",
                    "Syndication caught", "Feed health", "Last runs"):
        assert heading in page
    assert "Stepanakert" in page and "39.8153" in page  # places with coordinates
    assert "Armenian Leader Says Karabakh Conflict Unresolved" in page  # the syndicated story


def test_briefing_renders_in_headless_chromium(briefing, tmp_path):
    binary = chromium()
    profile = tmp_path / "profile"
    dom = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                          "--virtual-time-budget=10000", "--dump-dom", briefing.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('class="main-svg"') >= 2  # plotly drew its SVG charts
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if "error" in line.lower() or "Uncaught" in line], console
    shot = tmp_path / "briefing.png"
    subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}-shot", "--window-size=1300,2200",
                    "--virtual-time-budget=10000", f"--screenshot={shot}", briefing.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 20_000
