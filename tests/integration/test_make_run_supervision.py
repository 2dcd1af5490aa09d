"""`make run`'s processes survive a crash: honcho runs the Procfile; the worker and the recorder are restarted.

The test starts the Procfile the way `make run` does (`flask platform init`, then `honcho -f Procfile start`,
from the repository root, on a free port, with its own instance folder and no PYTHONPATH), kills the worker
and the recorder with SIGKILL, and checks that the web server kept answering, that both came back, and that
Ctrl-C (SIGINT to honcho) still stops everything.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code
    except (urllib.error.URLError, OSError):
        return 0


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in {"Z", "X"}


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _kind(argv: list[str]) -> str | None:
    if any("supervise" in a for a in argv):
        return None
    if any(a.endswith("/bin/celery") for a in argv[:2]):
        return "worker" if "worker" in argv else None
    if any(a.endswith("/bin/flask") for a in argv[:2]) and "recording" in argv:
        return "recorder" if "demo" in argv else None  # the demo room's (the window camera's recorder aside)
    return None


def _processes(instance: Path) -> dict[str, set[int]]:
    """The main process of this run's worker and recorder (found by their environment, so never another run's)."""
    marker = f"APP_INSTANCE_PATH={instance}".encode()
    found: dict[str, set[int]] = {"worker": set(), "recorder": set()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
        except OSError:
            continue
        kind = _kind(_argv(pid))
        if kind is not None and _alive(pid) and _kind(_argv(_ppid(pid))) != kind:  # not a pool process
            found[kind].add(pid)
    return found


def _wait(what: str, check: object, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout} s; honcho's output:\n{log.read_text(errors='replace')[-5000:]}")


def test_killed_worker_and_recorder_come_back_while_the_web_keeps_serving(tmp_path: Path) -> None:
    if not (BIN / "honcho").exists():
        pytest.fail(".venv is missing: run `make install-dev` first")
    instance = tmp_path / "instance"
    instance.mkdir()
    port, app_port = _free_port(), _free_port()  # nginx on PORT, gunicorn behind it on APP_PORT (as make run)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("APP_")}
    env |= {"APP_INSTANCE_PATH": str(instance), "FLASK_APP": "wsgi:app", "PORT": str(port), "APP_PORT": str(app_port)}
    subprocess.run(
        [str(BIN / "flask"), "platform", "init"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=180
    )
    log = tmp_path / "honcho.log"
    with open(log, "wb") as out:
        honcho = subprocess.Popen(
            [str(BIN / "honcho"), "-f", "Procfile", "start"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, as make's in a terminal: SIGINT below reaches honcho only
        )
    seen: set[int] = set()
    try:
        _wait("the web server answers", lambda: _healthz(port) == 200, log, 120)
        seen.update(int(p) for p in re.findall(r"started \(pid=(\d+)\)", log.read_text(errors="replace")))
        _wait("the worker and the recorder start", lambda: all(_processes(instance).values()), log, 60)
        time.sleep(3)  # let both get going (the recorder opens its session, the worker its pool)
        victims = {name: next(iter(pids)) for name, pids in _processes(instance).items()}
        seen.update(victims.values())
        for pid in victims.values():
            os.kill(pid, signal.SIGKILL)

        # The web keeps answering while both come back as new processes.
        statuses: list[int] = []
        replacements: dict[str, set[int]] = {}

        def back() -> bool:
            nonlocal replacements
            statuses.append(_healthz(port))
            replacements = {name: pids - {victims[name]} for name, pids in _processes(instance).items()}
            return all(replacements.values())

        _wait("the worker and the recorder are started again", back, log, 60)
        assert statuses and all(s == 200 for s in statuses), statuses
        for pids in replacements.values():
            seen.update(pids)
        time.sleep(2)
        assert all(_alive(pid) for pids in replacements.values() for pid in pids), replacements
        assert honcho.poll() is None, "honcho stopped"
        assert _healthz(port) == 200
        text = log.read_text(errors="replace")
        for name, pid in victims.items():
            assert re.search(rf"supervise\[{name}\]: pid {pid} killed by SIGKILL after .* restarting in", text), name
        assert "stopped (rc=" not in text  # honcho saw no process of its own end

        # Ctrl-C stops everything.
        os.kill(honcho.pid, signal.SIGINT)
        honcho.wait(timeout=60)
        _wait("every process is gone", lambda: not any(_alive(p) for p in seen), log, 15)
        assert _healthz(port) == 0
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait(timeout=10)
        for pid in seen:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
