"""`flask presence …`: give a window its camera, and watch every window camera (one process, round robin)."""

from __future__ import annotations

import time
from datetime import timedelta
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


CAMERA_POLL_SECONDS = 30.0  # how often a watcher with no camera looks again


@presence_cli.command("watch")
@click.option("--fps", type=click.FloatRange(0.5, 10), default=2.0, show_default=True, help="Analysed frames a second.")
@click.option("--until", "seconds", type=click.IntRange(1, None), default=None, help="Stop after this many seconds.")
@click.option("--no-faces", is_flag=True, help="Foreground only (no face cascades: opencv-data not installed).")
def watch_command(fps: float, seconds: int | None, no_faces: bool) -> None:
    """Analyse every active window camera at --fps and store the presence timeline (commits every frame round)."""
    from app.supervision.presence import services
    from recording.errors import SourceEnded, SourceLost, SourceUnavailable
    from recording.presence import FaceFinder, PresenceConfigError, SeatDetector, Settings

    try:
        faces = None if no_faces else FaceFinder()
    except PresenceConfigError as exc:
        raise click.ClickException(f"{exc} (or run with --no-faces)") from exc
    began = time.monotonic()
    cams = services.cameras()
    if not cams:  # the Procfile's watcher waits for the first camera instead of exiting (and being restarted)
        click.echo("no window has a camera yet (see `flask presence set-camera`): waiting for one", err=True)
    while not cams:
        db.session.commit()  # ends the read, so that the next look sees a camera set meanwhile
        left = None if seconds is None else seconds - (time.monotonic() - began)
        if left is not None and left <= 0:
            return
        time.sleep(CAMERA_POLL_SECONDS if left is None else min(CAMERA_POLL_SECONDS, left))
        cams = services.cameras()
    watched = []
    for cam in cams:
        source = _source(cam.source)
        try:
            source.open()
        except SourceUnavailable as exc:
            click.echo(f"window {cam.window.number}: camera unavailable ({exc}); skipped", err=True)
            continue
        watched.append(
            (cam.window_id, cam.window.number, source, SeatDetector(services.seat_region(cam), Settings(), faces))
        )
    db.session.commit()
    step = 1.0 / fps
    last: dict[int, Any] = {}
    while watched and (seconds is None or time.monotonic() - began < seconds):
        round_began = time.monotonic()
        for window_id, number, source, detector in list(watched):
            try:
                frame = source.read()
            except (SourceEnded, SourceLost) as exc:
                click.echo(f"window {number}: {exc}", err=True)
                watched.remove((window_id, number, source, detector))
                continue
            if window_id in last and frame.wall - last[window_id] < timedelta(seconds=step * 0.9):
                continue
            last[window_id] = frame.wall
            obs = detector.analyse(frame.image, frame.wall)
            services.observe(window_id, frame.wall, obs.present, face=obs.face)
        db.session.commit()
        time.sleep(max(0.0, step - (time.monotonic() - round_began)))
    for _, _, source, _ in watched:
        source.close()
