"""`flask presence …`: give a window its camera, and watch every window camera (one process, round robin)."""

from __future__ import annotations

import time
from typing import Any

import click
from flask.cli import AppGroup

from app.core.db import db

presence_cli = AppGroup("presence", help="Window-staff presence: cameras and the watcher.")


@presence_cli.command("set-camera")
@click.option("--window", "number", required=True, help="Window number, e.g. 01.")
@click.option(
    "--source",
    default="synthetic",
    show_default=True,
    help="synthetic | footage[:SEED] (a desk with people coming and going) | DEVICE index | rtsp://… | file.",
)
@click.option("--seat", default="0.3,0.1,0.4,0.7", show_default=True, help="Seat region: left,top,width,height (0–1).")
@click.option("--room", "room_code", default=None, help="The recording room that records this window.")
def set_camera_command(number: str, source: str, seat: str, room_code: str | None) -> None:
    from sqlalchemy import select

    from app.convenience.models import Window
    from app.supervision.presence import services
    from recording.presence import PresenceConfigError

    window = db.session.scalar(select(Window).where(Window.number == number))
    if window is None:
        raise click.ClickException(f"no window {number}")
    try:
        values = tuple(float(v) for v in seat.split(","))
        if len(values) != 4:
            raise ValueError
        services.set_camera(window_id=window.id, source=source, seat=values, room_code=room_code, actor="cli")  # type: ignore[arg-type]
    except (ValueError, PresenceConfigError) as exc:
        raise click.ClickException(f"bad seat region {seat!r}: {exc}") from exc
    db.session.commit()
    click.echo(f"window {number}: camera {source}, seat {seat}")


def _source(spec: str) -> Any:
    from recording.presence_footage import FOOTAGE_SPEC, FootageSource
    from recording.sources import OpenCVSource, SyntheticSource

    if spec == "synthetic":
        return SyntheticSource(320, 240, 2, realtime=True)
    footage = FOOTAGE_SPEC.fullmatch(spec)
    if footage:  # the same wall-clock moment of the same footage as the window's recorder films
        return FootageSource(fps=2, seed=int(footage.group(1) or 1), max_lag_s=1.0)
    return OpenCVSource(int(spec) if spec.isdigit() else spec, realtime=not spec.startswith(("rtsp:", "http")))


CAMERA_POLL_SECONDS = 30.0  # how often the watcher looks for cameras added, removed or changed


@presence_cli.command("watch")
@click.option("--fps", type=click.FloatRange(0.5, 10), default=2.0, show_default=True, help="Analysed frames a second.")
@click.option("--until", "seconds", type=click.IntRange(1, None), default=None, help="Stop after this many seconds.")
@click.option("--no-faces", is_flag=True, help="Foreground only (no face cascades: opencv-data not installed).")
def watch_command(fps: float, seconds: int | None, no_faces: bool) -> None:
    """Analyse every active window camera at --fps and store the presence timeline (commits every frame round).
    Cameras added, removed or changed while it runs are picked up within CAMERA_POLL_SECONDS, without a restart."""
    from app.supervision.presence.watcher import Watcher
    from recording.presence import FaceFinder, PresenceConfigError

    try:
        faces = None if no_faces else FaceFinder()
    except PresenceConfigError as exc:
        raise click.ClickException(f"{exc} (or run with --no-faces)") from exc
    began = time.monotonic()
    watcher = Watcher(open_source=_source, faces=faces, fps=fps, say=lambda text: click.echo(text, err=True))
    watcher.sync()
    if not watcher.watched:  # the Procfile's watcher waits for the first camera instead of exiting (and restarting)
        click.echo("no window has a camera yet (see `flask presence set-camera`): waiting for one", err=True)
    next_sync = time.monotonic() + CAMERA_POLL_SECONDS
    step = 1.0 / fps
    try:
        while seconds is None or time.monotonic() - began < seconds:
            round_began = time.monotonic()
            if round_began >= next_sync:
                watcher.sync()
                next_sync = round_began + CAMERA_POLL_SECONDS
            if not watcher.watched:
                wait = next_sync - time.monotonic()
                if seconds is not None:
                    wait = min(wait, seconds - (time.monotonic() - began))
                time.sleep(max(0.0, wait))
                continue
            watcher.round()
            db.session.commit()
            time.sleep(max(0.0, step - (time.monotonic() - round_began)))
    finally:
        watcher.close()
