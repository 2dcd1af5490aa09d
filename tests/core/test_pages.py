"""The request boundary: a view never commits; the answer decides whether its unit of work is kept."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, flash
from sqlalchemy import text
from wtforms import Form, StringField

from app.core.db import db
from app.core.errors import Conflict, PermissionDenied, field_error
from app.core.pages import attempt
from app.core.security import public

# The probe adds its views to the app: each test gets an app of its own.
pytestmark = pytest.mark.fresh_app


class NameForm(Form):
    name = StringField()


@pytest.fixture
def probe(app: Flask) -> Flask:
    with app.app_context():
        db.session.execute(text("CREATE TABLE IF NOT EXISTS uow_probe (v integer)"))
        db.session.execute(text("DELETE FROM uow_probe"))
        db.session.commit()

    def write(v: int) -> None:
        db.session.execute(text("INSERT INTO uow_probe (v) VALUES (:v)"), {"v": v})

    @public
    def ok() -> Any:
        write(1)
        return "ok"

    @public
    def client_error() -> Any:
        write(2)
        return "no", 422

    @public
    def conflict() -> Any:
        with attempt() as outcome:
            write(3)
            raise Conflict("The tender is not open.")
        assert outcome.failed and outcome.status == 409
        outcome.flash()
        write(4)  # after a failure nothing of the request is kept, even on a redirect
        return "", 303

    @public
    def field() -> Any:
        form = NameForm(data={"name": "x"})
        with attempt(form, aliases={"title": "name"}) as outcome:
            raise field_error("title", "The title is too long.")
        flash(repr((dict(outcome.errors), outcome.errors.general)))
        return "", 303

    @public
    def refused() -> Any:
        with attempt():
            write(5)
            raise PermissionDenied("Not yours.")
        return "unreachable"

    @public
    def crash() -> Any:
        write(6)
        raise RuntimeError("boom")

    for view in (ok, client_error, conflict, field, refused, crash):
        app.add_url_rule(f"/_probe/{view.__name__}", view.__name__, view, methods=["GET", "POST"])
    return app


def _kept(app: Flask) -> list[int]:
    with app.app_context():
        return sorted(db.session.scalars(text("SELECT v FROM uow_probe")))


def test_a_successful_answer_commits_once_at_the_boundary(probe: Flask) -> None:
    assert probe.test_client().get("/_probe/ok").status_code == 200
    assert _kept(probe) == [1]


def test_an_error_answer_keeps_nothing(probe: Flask) -> None:
    c = probe.test_client()
    assert c.get("/_probe/client_error").status_code == 422
    assert c.get("/_probe/refused").status_code == 403
    assert c.get("/_probe/crash").status_code == 500
    assert _kept(probe) == []


def test_a_domain_error_in_a_page_becomes_its_message_and_discards_the_work(probe: Flask) -> None:
    c = probe.test_client()
    assert c.get("/_probe/conflict").status_code == 303
    assert _kept(probe) == []
    with c.session_transaction() as s:
        assert [m for _, m in s["_flashes"]] == ["The tender is not open."]
    c.get("/_probe/ok")
    assert _kept(probe) == [1]  # the next request is not affected by the discarded one


def test_a_field_error_lands_on_the_form_field_it_names(probe: Flask) -> None:
    c = probe.test_client()
    c.get("/_probe/field")
    with c.session_transaction() as s:
        (_, shown), *_rest = s["_flashes"]
    assert "'name': ['The title is too long.']" in shown and shown.endswith("[])")
