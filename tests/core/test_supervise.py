"""The process supervisor the Procfile runs the worker and the recorder under."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.core.supervise import describe, next_backoff


def test_backoff_doubles_on_quick_failures_and_resets_after_a_stable_run() -> None:
    waits: list[float] = []
    previous = None
    for _ in range(8):
        previous = next_backoff(previous, 0.5, low=1, high=60, stable_after=60)
        waits.append(previous)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    assert next_backoff(60, 61, low=1, high=60, stable_after=60) == 1
    assert describe(-9) == "killed by SIGKILL" and describe(3) == "exited with status 3"


def _supervise(tmp_path: Path, script: str, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.core.supervise", "--name", "t", *options, "--", "sh", "-c", script],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _children(pid: int) -> list[str]:
    """The process's running children (Linux /proc)."""
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []


def _wait_for(check: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_command_that_keeps_failing_is_restarted_with_backoff_and_stops_on_sigterm(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    proc = _supervise(tmp_path, f"echo run >> {runs}; exit 3", "--min-backoff", "0.1", "--max-backoff", "0.4")
    try:
        # stop it while it waits to restart (no command running: a stop during a run passes the run's status on)
        _wait_for(lambda: runs.exists() and len(runs.read_text().split()) >= 4 and not _children(proc.pid))
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "exited with status 3 after" in err and "restarting in 0.1 s (failure 1 in a row)" in err
    assert "restarting in 0.4 s (failure 3 in a row)" in err  # 0.1, 0.2, 0.4, then capped
    assert "stopped" in err.splitlines()[-1]


def test_sigterm_reaches_the_command_and_its_children_and_the_status_is_passed_on(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    # The command leaves a grandchild behind in its process group: it must not outlive the stop.
    script = f"sleep 300 & echo $! >> {pids}; echo $$ >> {pids}; trap 'exit 7' TERM; wait"
    proc = _supervise(tmp_path, script, "--grace", "5")
    _wait_for(lambda: pids.exists() and len(pids.read_text().split()) == 2)
    grandchild, child = (int(p) for p in pids.read_text().split())
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 7, err
    for pid in (child, grandchild):
        # Killed: gone, or a zombie until whoever adopted it (init, or a subreaper) reaps it.
        _wait_for(lambda pid=pid: _gone(pid), timeout=10)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"


def test_a_killed_supervisor_takes_its_command_with_it(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    proc = _supervise(tmp_path, f"echo $$ >> {pids}; exec sleep 300")
    _wait_for(lambda: pids.exists() and pids.read_text().strip())
    child = int(pids.read_text())
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=20)

    _wait_for(lambda: _gone(child), timeout=10)
