"""At once on PostgreSQL: the same forum batch and the same e-mail delivered by parallel importers are stored once
(the unique channel + external id decides, the losers answer the stored request), and two dispatchers assigning
one request at once are serialised by its row lock (one dispatches, the other is told it is there already)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.convenience.interaction.conftest import Cast, token

PARALLEL = 8
BASE = "/api/v1/convenience/interaction"


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_parallel_imports_store_each_post_once(app: Flask, cast: Cast) -> None:
    from app.audit.models import AuditEntry
    from app.convenience.interaction.models import InteractionRequest
    from app.extensions import db

    auth = {"Authorization": f"Bearer {token(app, cast.operator, ['convenience.interaction.intake'])}"}
    posts = [{"post_id": f"p{i}", "body": f"帖子{i}", "category": "traffic"} for i in range(5)]
    mail = {"message_id": "<same@x>", "sender": "a@example.com", "body": "同一封邮件"}
    barrier = threading.Barrier(PARALLEL)

    def deliver(i: int) -> tuple[list[str], str]:
        client = app.test_client()
        barrier.wait()
        batch = client.post(f"{BASE}/forum/import", json={"posts": posts}, headers=auth)
        assert batch.status_code == 200, batch.get_data(as_text=True)
        email = client.post(f"{BASE}/email", json=mail, headers=auth)
        assert email.status_code == 201, email.get_data(as_text=True)
        return [r["reference"] for r in batch.get_json()["requests"]], email.get_json()["reference"]

    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(deliver, range(PARALLEL)))
    assert len({tuple(refs) for refs, _ in results}) == 1  # every importer was answered the same requests
    assert len({ref for _, ref in results}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InteractionRequest)) == 6
        received = db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "convenience.interaction.received")
        )
        assert received == 6  # one evidence entry per stored request, none for the duplicates


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_two_dispatchers_at_once(app: Flask, cast: Cast) -> None:
    from tests.accounts.helpers import make_user

    second, _ = make_user(app, "dispatcher2", ["dispatcher"])
    auths = [
        {"Authorization": f"Bearer {token(app, uid, ['convenience.interaction.dispatch'])}"}
        for uid in (cast.dispatcher, second)
    ]
    client = app.test_client()
    made = client.post(
        f"{BASE}/requests", json={"kind": "help", "category": "other", "body": "求助", "phone": "13800138000"}
    )
    ref = made.get_json()["reference"]
    barrier = threading.Barrier(2)

    def assign(auth: dict[str, str]) -> Any:
        c = app.test_client()
        barrier.wait()
        return c.post(f"{BASE}/staff/requests/{ref}/dispatch", json={"department": "ENV"}, headers=auth).status_code

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(assign, auths))
    assert statuses == [200, 409]
