"""`flask recording …`: the per-room recorder process and room administration."""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup

from app.core.db import db
from app.core.errors import DomainError

recording_cli = AppGroup("recording", help="Record opening and evaluation rooms.")


@recording_cli.command("run")
@click.option("--room", "room_code", required=True, help="Room code (see `flask recording rooms`).")
@click.option(
    "--source",
    default=None,
    help="synthetic | scene[:SEED] | footage[:SEED] | DEVICE index | rtsp://… | file or URL (default: the room's).",
)
@click.option("--until", "until", default=None, help="Stop at an instant (ISO) or after a duration (90s, 15m, 2h).")
@click.option("--follow-schedule", is_flag=True, help="Run on: start and stop sessions as schedules and staff ask.")
@click.option("--continuous", is_flag=True, help="With --follow-schedule: record whenever no other session is due.")
@click.option(
    "--rotate", "rotate_s", type=click.FloatRange(min=10), default=None, help="Close unscheduled sessions after N s."
)
@click.option("--subject", default=None, help="Subject of a session started by this command, e.g. tender:12.")
@click.option("--width", type=click.IntRange(16, 3840), default=None)
@click.option("--height", type=click.IntRange(16, 2160), default=None)
@click.option("--fps", type=click.IntRange(1, 60), default=None)
@click.option("--segment-seconds", type=click.FloatRange(0.5, 30), default=4.0, show_default=True)
@click.option("--preset", default=None, help="x264 preset (default ultrafast: the most cameras per core, see README).")
@click.option("--crf", type=click.IntRange(0, 51), default=None, help="x264 quality, lower is better (default 26).")
@click.option("--no-audio", is_flag=True, help="Record video only.")
@click.option("--poll", "poll_s", type=click.FloatRange(0.1, 60), default=1.0, show_default=True)
def run_command(  # noqa: PLR0917 - click passes each option as an argument
    room_code: str,
    source: str | None,
    until: str | None,
    follow_schedule: bool,
    continuous: bool,
    rotate_s: float | None,
    subject: str | None,
    width: int | None,
    height: int | None,
    fps: int | None,
    segment_seconds: float,
    preset: str | None,
    crf: int | None,
    no_audio: bool,
    poll_s: float,
) -> None:
    """Record one room. Without --follow-schedule: one session now, until --until, SIGTERM or a stop by staff."""
    from app.recordings.recorder import Options, RoomRecorder, parse_until
    from recording.recorder import install_stop_signals

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        deadline = parse_until(until, zone=current_app.config["CENTER_TIMEZONE"])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--until") from exc
    options = Options(
        room=room_code,
        source=source,
        width=width,
        height=height,
        fps=fps,
        segment_seconds=segment_seconds,
        preset=preset,
        crf=crf,
        audio=not no_audio,
        follow=follow_schedule,
        continuous=continuous,
        rotate_s=rotate_s,
        until=deadline,
        poll_s=poll_s,
        subject=subject,
    )
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        install_stop_signals(stop)  # SIGTERM closes the current segment and signs the session's manifest
    try:
        RoomRecorder(current_app._get_current_object(), options, echo=click.echo).run(stop)  # type: ignore[attr-defined]
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@recording_cli.command("rooms")
def rooms_command() -> None:
    """List the rooms and their sessions in progress."""
    from app.recordings import services

    for room in services.list_rooms():
        active = ", ".join(f"{s.key} ({s.status.value})" for s in services.active_sessions(room)) or "idle"
        click.echo(f"{room.code:<16} {room.kind.value:<10} {room.source:<20} {room.name} — {active}")


@recording_cli.command("add-room")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--source", default="synthetic", show_default=True)
@click.option(
    "--kind",
    type=click.Choice(["opening", "evaluation", "window"]),
    default="opening",
    show_default=True,
    help="window: a convenience window's camera, stored in the window-recordings bucket and deleted after the "
    "retention period; opening and evaluation recordings go to the write-once bucket and are kept.",
)
@click.option("--subject", default=None)
@click.option("--width", type=int, default=640, show_default=True)
@click.option("--height", type=int, default=360, show_default=True)
@click.option("--fps", type=int, default=15, show_default=True)
def add_room_command(  # noqa: PLR0917 - click passes each option as an argument
    code: str, name: str, source: str, kind: str, subject: str | None, width: int, height: int, fps: int
) -> None:
    """Add a recording room."""
    from app.recordings import services
    from app.recordings.models import media_bucket

    try:
        services.create_room(
            actor="cli",
            code=code,
            name=name,
            source=source,
            kind=kind,
            subject=subject,
            width=width,
            height=height,
            fps=fps,
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.detail) from exc
    click.echo(f"room {code} created; its recordings go to the {media_bucket(services.get_room(code))} bucket")


@recording_cli.command("apply-schedules")
def apply_schedules_command() -> None:
    """Run the schedule sweep once (what beat does every few seconds)."""
    from app.recordings import services

    for line in services.apply_schedules():
        click.echo(line)
    db.session.commit()
