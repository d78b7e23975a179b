"""`newswatch deploy --pool NAME`: register newswatch's flows as deployments of a
Prefect process work pool, so any worker of the pool can run them.

Each deployment loads its flow from this project directory (the pull step is "set the
working directory to it"), so every worker host needs the project at the same path
with its virtualenv, and the config file at the path given here. ``prefect.yaml``
describes the same deployments for ``prefect deploy --all``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    entrypoint: str
    description: str
    scheduled: bool = False


DEPLOYMENTS = (
    DeploymentSpec("newswatch-monitor", "flows/monitor.py:monitor",
                   "One monitoring pass (split into shard runs when [run] shards > 1).", scheduled=True),
    DeploymentSpec("newswatch-monitor-shard", "flows/sharding.py:monitor_shard",
                   "One shard of a sharded monitoring pass; started by newswatch-monitor."),
    DeploymentSpec("newswatch-backfill", "flows/backfill.py:backfill",
                   "Older articles from a sitemap, feed archive or URL file."),
    DeploymentSpec("newswatch-reprocess", "flows/reprocess.py:reprocess",
                   "Recompute stored decisions (dedup, classify)."),
)


def deployment_parameters(spec: DeploymentSpec, config_path: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"config_path": config_path}
    if spec.scheduled:
        params["trigger"] = "scheduled"
    return params


def deploy_all(pool: str, config_path: str | None, cron: str | None, timezone: str,
               project_dir: Path = PROJECT_DIR) -> list[str]:
    """Create or update every deployment on the current Prefect API; return their ids."""
    from prefect import Flow
    from prefect.schedules import Cron

    ids = []
    for spec in DEPLOYMENTS:
        flow_obj = Flow.from_source(source=str(project_dir), entrypoint=spec.entrypoint)
        schedules = [Cron(cron, timezone=timezone)] if spec.scheduled and cron else None
        deployment_id = flow_obj.deploy(
            name=spec.name, work_pool_name=pool, description=spec.description,
            parameters=deployment_parameters(spec, config_path), schedules=schedules,
            build=False, push=False, print_next_steps=False, ignore_warnings=True,
        )
        ids.append(str(deployment_id))
    return ids
