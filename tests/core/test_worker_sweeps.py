"""The worker `make run` starts (`celery -A wsgi.celery worker --beat`, Procfile) knows the floors' time sweeps and
has them on its beat schedule: loaded the way the worker loads them, in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SWEEPS = {  # every sweep the floors declare, with its period in seconds
    "permits.deem_overdue": 600.0,
    "convenience.close_past_days": 600.0,
    "tendering.open_due": None,
    "audit.batch": None,
}

PROBE = """
import json
from wsgi import celery
print(json.dumps({"tasks": sorted(celery.tasks), "beat": {k: [v["task"], v["schedule"]] for k, v in
      celery.conf.beat_schedule.items()}}))
"""


def test_the_worker_registers_and_schedules_the_permits_and_convenience_sweeps(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "APP_INSTANCE_PATH": str(tmp_path / "instance"),
        "APP_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for name, every in SWEEPS.items():
        assert name in found["tasks"], f"{name} is not registered with the worker"
        assert found["beat"].get(name, [None])[0] == name, f"{name} is not on the beat schedule"
        if every is not None:
            assert found["beat"][name][1] == every
