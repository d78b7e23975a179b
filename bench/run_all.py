"""Run every benchmark in bench/ and print their figures (`make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = [
    ["extract_speed.py"],
    ["classify_speed.py"],
    ["dedup_scale.py"],
    ["extraction_quality.py", "--peers"],
    ["throughput.py"],
    ["profile_run.py"],
    ["scale_workers.py"],
]

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    code = 0
    for name, *args in BENCHES:
        print(f"== {name} {' '.join(args)}", flush=True)
        code |= subprocess.call([sys.executable, str(here / name), *args])
    raise SystemExit(code)
