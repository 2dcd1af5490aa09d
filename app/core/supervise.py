"""Keep one command running: restart it when it exits, with exponential backoff, and log every restart.

    python -m app.core.supervise --name worker -- .venv/bin/celery -A wsgi.celery worker --beat

`make run` starts its processes with honcho, which stops every process as soon as one exits. The Procfile
therefore runs the worker and the recorder under this supervisor: a crash (or `kill -9`) of either is logged
and the process is started again, while the web server keeps serving. (gunicorn supervises its own web
workers.) In production systemd does this job (`Restart=always`, see the README); this module is only the
development runner's counterpart, in the standard library alone.

- The command runs in its own process group; when its main process ends, whatever it left in that group
  (Celery's pool processes, an ffmpeg) is killed before the next start.
- Backoff: the first restart waits `--min-backoff` seconds, each quick failure doubles the wait up to
  `--max-backoff`; a run that lasted `--stable-after` seconds resets it.
- SIGTERM / SIGINT / SIGHUP stop the supervisor: the signal is passed to the command's process group, which
  gets `--grace` seconds to stop before SIGKILL; the supervisor then exits with the command's status.
  (honcho kills what is left 5 s after its SIGTERM, hence `--grace 4` in the Procfile.) Should the supervisor
  itself be killed, the kernel kills the command too (Linux PR_SET_PDEATHSIG): nothing is left running.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def next_backoff(previous: float | None, ran_for: float, *, low: float, high: float, stable_after: float) -> float:
    """The wait before the next start: `low` after a stable run or the first failure, else double, at most `high`."""
    if previous is None or ran_for >= stable_after:
        return low
    return min(high, max(low, previous * 2))


def _die_with_parent() -> None:
    """In the child, before exec: receive SIGKILL when the supervisor dies (Linux; elsewhere nothing)."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def describe(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


class Supervisor:
    def __init__(
        self,
        command: Sequence[str],
        *,
        name: str,
        min_backoff: float = 1.0,
        max_backoff: float = 60.0,
        stable_after: float = 60.0,
        grace: float = 20.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.command = list(command)
        self.name = name
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self.grace = grace
        self._log = log or self._stderr
        self._stop = threading.Event()
        self._stop_signal = signal.SIGTERM
        self._child: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def _stderr(self, message: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        print(f"[{stamp}] supervise[{self.name}]: {message}", file=sys.stderr, flush=True)

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop: pass `signum` to the command's process group (a signal handler calls this)."""
        self._stop_signal = signal.Signals(signum)
        self._stop.set()
        child = self._child
        if child is not None and child.returncode is None:
            self._signal_group(child.pid, signum)

    @staticmethod
    def _signal_group(pgid: int, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)

    def _run_once(self) -> int:
        # The operator's own command line (S603); the supervisor starts no threads, so preexec_fn is safe.
        child = subprocess.Popen(  # noqa: S603
            self.command,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )
        self._child = child
        self.starts += 1
        self._log(f"started pid {child.pid}: {' '.join(self.command)}")
        if self._stop.is_set():  # a stop that came while starting
            self._signal_group(child.pid, self._stop_signal)
        killed_at: float | None = None
        stop_seen: float | None = None
        while True:
            try:
                returncode = child.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if self._stop.is_set() and stop_seen is None:
                    stop_seen = time.monotonic()
                if stop_seen is not None and killed_at is None and time.monotonic() - stop_seen > self.grace:
                    self._log(f"pid {child.pid} still running {self.grace:g} s after {self._stop_signal.name}: SIGKILL")
                    self._signal_group(child.pid, signal.SIGKILL)
                    killed_at = time.monotonic()
        self._signal_group(child.pid, signal.SIGKILL)  # what the command left behind in its group
        return returncode

    def run(self) -> int:
        backoff: float | None = None
        failures = 0
        while True:
            started = time.monotonic()
            returncode = self._run_once()
            ran_for = time.monotonic() - started
            if self._stop.is_set():
                self._log(f"stopped ({describe(returncode)})")
                return returncode if returncode >= 0 else 128 - returncode
            backoff = next_backoff(
                backoff, ran_for, low=self.min_backoff, high=self.max_backoff, stable_after=self.stable_after
            )
            failures = 1 if ran_for >= self.stable_after else failures + 1
            self._log(
                f"pid {self._child.pid if self._child else '?'} {describe(returncode)} after {ran_for:.1f} s; "
                f"restarting in {backoff:g} s (failure {failures} in a row)"
            )
            if self._stop.wait(backoff):
                self._log("stopped while waiting to restart")
                return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.core.supervise", description=__doc__.split("\n")[0])
    parser.add_argument("--name", default=None, help="how the log lines name the command")
    parser.add_argument("--min-backoff", type=float, default=1.0, help="seconds before the first restart")
    parser.add_argument("--max-backoff", type=float, default=60.0, help="longest wait between restarts")
    parser.add_argument("--stable-after", type=float, default=60.0, help="a run this long resets the backoff")
    parser.add_argument("--grace", type=float, default=20.0, help="seconds to stop before SIGKILL")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS…]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to supervise: give it after --")
    if not 0 < args.min_backoff <= args.max_backoff:
        parser.error("need 0 < --min-backoff <= --max-backoff")
    supervisor = Supervisor(
        command,
        name=args.name or os.path.basename(command[0]),
        min_backoff=args.min_backoff,
        max_backoff=args.max_backoff,
        stable_after=args.stable_after,
        grace=args.grace,
    )

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        supervisor.request_stop(signum)

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_signal)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
