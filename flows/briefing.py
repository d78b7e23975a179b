"""`newswatch report --html FILE`: one self-contained HTML briefing of the warehouse.

Charts are drawn with Plotly (plotly.py); plotly.js is embedded inline, so the page
needs no network to view. Places are plotted by longitude/latitude on plain axes and
listed with their coordinates (an offline base map would need map tiles).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warehouse import queries
from warehouse.connection import read_connection
from warehouse.store import fetch_dicts

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2733;background:#f6f7f9}
header{background:#1d2733;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#b8c4d0;font-size:13px}main{padding:12px 28px 40px;max-width:1300px}
section{background:#fff;border-radius:8px;padding:14px 18px;margin:16px 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:16px;margin:0 0 10px}table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e5e8ec;vertical-align:top}
th{background:#f0f2f5;font-weight:600}td.num{text-align:right}.ev{color:#55606e;font-size:12px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}@media(max-width:900px){.grid{grid-template-columns:1fr}}
"""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        value = value.isoformat()[:16].replace("T", " ")
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return html.escape(str(value))


def _table(rows: list[dict[str, Any]], columns: list[str], links: dict[str, str] | None = None) -> str:
    if not rows:
        return "<p>Nothing yet.</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            text = _cell(row.get(c))
            if links and c in links and row.get(links[c]):
                text = f'<a href="{html.escape(str(row[links[c]]))}">{text}</a>'
            cls = ' class="num"' if isinstance(row.get(c), int | float) and not isinstance(row.get(c), bool) else ""
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _timeline_figure(rows: list[dict[str, Any]]):
    import plotly.graph_objects as go

    fig = go.Figure()
    for event_type in sorted({r["event_type"] for r in rows}):
        points = [r for r in rows if r["event_type"] == event_type]
        fig.add_bar(x=[r["month"] for r in points], y=[r["events"] for r in points], name=event_type)
    fig.update_layout(barmode="stack", height=360, margin=dict(l=40, r=10, t=10, b=40),
                      legend=dict(orientation="h"), xaxis_title="month", yaxis_title="events")
    return fig


def _places_figure(rows: list[dict[str, Any]]):
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(
        x=[r["longitude"] for r in rows], y=[r["latitude"] for r in rows], mode="markers+text",
        text=[r["location"] for r in rows], textposition="top center",
        marker=dict(size=[8 + 3 * min(r["events"], 20) for r in rows], color="#c0392b", opacity=0.7),
        hovertext=[f"{r['location']}: {r['events']} events" for r in rows], hoverinfo="text",
    ))
    fig.update_layout(height=420, margin=dict(l=40, r=10, t=10, b=40), xaxis_title="longitude",
                      yaxis_title="latitude", yaxis=dict(scaleanchor="x"))
    return fig


def build_briefing(db: Path) -> str:
    """Return the briefing page for the warehouse at ``db``."""
    from plotly.offline import get_plotlyjs

    with read_connection(db, sandboxed=False) as con:
        timeline = fetch_dicts(con, queries.BRIEF_TIMELINE)
        places = fetch_dicts(con, queries.BRIEF_PLACES)
        latest = fetch_dicts(con, queries.BRIEF_LATEST)
        stories = fetch_dicts(con, queries.BRIEF_SYNDICATION)
        feeds = fetch_dicts(con, queries.FEED_HEALTH)
        runs = fetch_dicts(con, queries.RECENT_RUNS, [10])
        totals = fetch_dicts(con, queries.BRIEF_TOTALS)[0]
    charts = []
    for name, figure in (("timeline", _timeline_figure(timeline) if timeline else None),
                         ("places", _places_figure(places) if places else None)):
        charts.append(figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{name}",
                                     config={"displaylogo": False, "responsive": True})
                      if figure is not None else "<p>No events yet.</p>")
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    feed_table = _table(feeds, ["name", "last_status", "last_success", "consecutive_failures", "articles", "disabled"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>newswatch briefing</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body><header><h1>newswatch briefing — Armenia–Azerbaijan / Nagorno-Karabakh</h1>
<p>Generated {generated} from {html.escape(str(db))}: {totals['articles']} articles
({totals['originals']} originals, {totals['copies']} copies), {totals['events']} events,
{totals['first'] or '-'} to {totals['last'] or '-'}.</p></header><main>
<section><h2>Events per month, by type</h2>{charts[0]}</section>
<div class="grid"><section><h2>Where events happened</h2>{charts[1]}</section>
<section><h2>Places (with coordinates)</h2>{_table(places, ["location", "country", "latitude", "longitude",
                                                          "events", "killed_reported"])}</section></div>
<section><h2>Latest events</h2>{_table(latest, ["event_date", "event_type", "actor1", "actor2", "location",
                                                "fatalities", "title", "evidence"], {"title": "url"})}</section>
<section><h2>Syndication caught: stories and their copies</h2>{_table(stories, ["published_at", "title", "copies",
                                                                              "outlets"])}</section>
<div class="grid"><section><h2>Feed health</h2>{feed_table}</section>
<section><h2>Last runs</h2>{_table(runs, ["started_at", "flow", "trigger", "status", "articles_stored",
                                          "events_added", "feeds_failed"])}</section></div>
</main></body></html>
"""


def write_briefing(db: Path, target: Path) -> Path:
    """Write the briefing to ``target`` and return its absolute path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(build_briefing(db), encoding="utf-8")
    return target.resolve()
