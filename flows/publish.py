"""Publish a run report as Prefect artifacts (markdown + feed table)."""

from __future__ import annotations

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from warehouse.reports import RunReport, format_markdown


def publish_report(report: RunReport) -> None:
    """Attach the report to the current flow run; never fails the run over an artifact."""
    try:
        key = f"{report.run['flow']}-report"
        create_markdown_artifact(markdown=format_markdown(report), key=key,
                                 description="newswatch run report")
        rows = [
            {k: (v if not hasattr(v, "isoformat") else v.isoformat()) for k, v in p.items()}
            for p in report.polls
        ]
        if rows:
            create_table_artifact(table=rows, key=f"{report.run['flow']}-feeds",
                                  description="feed polls of this run")
        events = [
            {k: (v if not hasattr(v, "isoformat") else v.isoformat()) for k, v in e.items()}
            for e in report.events
        ]
        if events:
            create_table_artifact(table=events, key=f"{report.run['flow']}-events",
                                  description="events added by this run (first 500)")
    except Exception as exc:  # artifacts are a convenience, the warehouse is the record
        get_run_logger().warning("could not publish report artifacts: %s", exc)
