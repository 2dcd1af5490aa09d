"""Celery bound to the Flask app: each task runs in an app context and commits or rolls back at its end."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import Celery, Task
from flask import Flask

from app.core import tasks as task_registry

log = logging.getLogger(__name__)


def broker_settings(app: Flask) -> dict[str, Any]:
    url = app.config["BROKER_URL"]
    settings: dict[str, Any] = {"broker_url": url, "task_ignore_result": True}
    if url.startswith("filesystem://"):
        # Embedded, persistent transport: messages are files under instance/celery/.
        base = Path(app.config["CELERY_DATA_DIR"])
        for sub in ("queue", "processed", "control"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        settings["broker_transport_options"] = {
            "data_folder_in": str(base / "queue"),
            "data_folder_out": str(base / "queue"),
            "processed_folder": str(base / "processed"),
            "control_folder": str(base / "control"),
            "store_processed": False,
        }
        settings["beat_schedule_filename"] = str(base / "beat-schedule")
    if url.startswith("memory://"):
        settings["task_always_eager"] = False
    return settings


def celery_init_app(app: Flask) -> Celery:
    class AppTask(Task):  # type: ignore[misc]
        """App context around the task; one commit at the end, rollback on error."""

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            from app.core.db import db

            with app.app_context():
                try:
                    result = self.run(*args, **kwargs)
                    db.session.commit()
                    return result
                except BaseException:
                    db.session.rollback()
                    raise
                finally:
                    db.session.remove()

        def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
            """Every failure is logged; the task's module then marks its object failed, in its own transaction."""
            log.error("task %s[%s] failed: %r", self.name, task_id, exc, exc_info=exc)
            handler = task_registry.failure_handler(self.name)
            if handler is None:
                return
            from app.core.db import db

            with app.app_context():
                try:
                    handler(task_registry.failure_reason(exc), *(args or ()), **(kwargs or {}))
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    log.exception("task %s[%s]: its failure could not be recorded", self.name, task_id)
                finally:
                    db.session.remove()

    celery = Celery(app.import_name, task_cls=AppTask)
    celery.conf.update(
        broker_settings(app),
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        timezone="UTC",
        enable_utc=True,
        broker_connection_retry_on_startup=True,
    )
    celery.set_default()
    app.extensions["celery"] = celery
    task_registry.bind(celery)
    return celery
