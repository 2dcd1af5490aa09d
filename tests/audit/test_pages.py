"""The evidence-log explorer pages: filters, keyset pagination, the entry page's server-side verdict, the export
(accepted by crypto's offline verifier), and refusal (403 + access.denied) of everyone without `audit.read`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import audit
from app.audit import explorer, services
from app.audit.models import AuditEntry, Checkpoint
from app.core import time as clock_mod
from app.core.db import db
from app.core.time import format_iso_instant
from crypto.cli_verify import verify_export
from crypto.signing import load_public_key
from tests.html import parse

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


def _fill(
    app: Flask, clock: clock_mod.FakeClock, rows: list[tuple[str, str, str | None]], checkpoint: bool = True
) -> None:
    """Append (action, actor, subject) rows one minute apart from T0."""
    with app.app_context():
        for i, (action, actor, subject) in enumerate(rows):
            clock.set(T0 + timedelta(minutes=i))
            audit.record(action, actor=actor, subject=subject, data={"i": i})
        if checkpoint:
            services.issue_checkpoint()
        db.session.commit()


def _indices(html: str) -> list[int]:
    """The entries the page links to, in its order."""
    links = parse(html).links()
    return [int(n) for link in links if (n := link.removeprefix("/audit/entries/")) != link and n.isdigit()]


def _key(client: Any) -> Any:
    return load_public_key(client.get("/.well-known/platform-keys.json").get_json()["keys"][0]["public_key"])


ROWS = [
    ("tender.publish", "user:1", "tender:1"),
    ("tender.publish", "user:2", "tender:2"),
    ("bid.withdraw", "user:3", "tender:1"),
    ("tender.cancel", "user:1", "tender:10"),
    ("login.ok", "user:3", None),
    ("tender.publish", "user:1", "tender:1%"),
]


def test_list_filters_by_subject_action_actor_and_time(app: Flask, client: Any, sign_in: Any, clock: Any) -> None:
    _fill(app, clock, ROWS)
    sign_in(7, "audit.read")
    page = client.get("/audit/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _indices(html) == [5, 4, 3, 2, 1, 0]  # newest first
    assert "tender.publish" in parse(html).texts("code", cls="app-break")
    assert "Asia/Shanghai" in html  # times and the time filter name the zone
    # the action list offers exactly the actions present
    assert [o.get("value") for o in parse(html).select("option")] == [
        "",
        "bid.withdraw",
        "login.ok",
        "tender.cancel",
        "tender.publish",
    ]

    assert _indices(client.get("/audit/?subject=tender:1").get_data(as_text=True)) == [2, 0]
    # a prefix match; the % in a subject is a character, not a wildcard
    assert _indices(client.get("/audit/?subject=tender:1&subject_prefix=y").get_data(as_text=True)) == [5, 3, 2, 0]
    assert _indices(client.get("/audit/?subject=tender:1%25&subject_prefix=y").get_data(as_text=True)) == [5]
    assert _indices(client.get("/audit/?action=tender.publish").get_data(as_text=True)) == [5, 1, 0]
    assert _indices(client.get("/audit/?actor=user:3").get_data(as_text=True)) == [4, 2]
    # time range in the center's zone: 10:01 (included) to 10:03 (excluded) Shanghai time
    html = client.get("/audit/?since=2026-03-01T10:01&before=2026-03-01T10:03").get_data(as_text=True)
    assert _indices(html) == [2, 1]
    # combined
    assert _indices(client.get("/audit/?actor=user:1&action=tender.publish").get_data(as_text=True)) == [5, 0]
    none = client.get("/audit/?actor=user:99")
    assert none.status_code == 200 and 'id="no-entries"' in none.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=1999-12-31T23:00", "2000"),  # out of range: refused, not a 500
        ("since=9999-12-31T23:59", "2000"),
        ("before=yesterday", "UTC"),
        ("since=2026-03-01T10:03&before=2026-03-01T10:01", "after"),
        ("action=no.such.action", "list"),
        ("subject=" + "x" * 301, "300"),
    ],
)
def test_bad_filters_are_shown_on_the_page(
    app: Flask, client: Any, sign_in: Any, clock: Any, query: str, message: str
) -> None:
    _fill(app, clock, ROWS[:2])
    sign_in(7, "audit.read")
    with client.session_transaction() as sess:
        sess["lang"] = "en"
    page = client.get("/audit/?" + query)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "govuk-error-summary" in html and message in html
    assert _indices(html) == []


@pytest.mark.parametrize("query", ["cursor_before=abc", "cursor_after=-1", "cursor_before=99999999999999999999"])
def test_bad_page_cursors_are_refused_readably(app: Flask, client: Any, sign_in: Any, query: str) -> None:
    sign_in(7, "audit.read")
    assert client.get("/audit/?" + query).status_code == 422


def test_keyset_pagination_walks_both_ways(app: Flask, client: Any, sign_in: Any, clock: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(explorer, "PAGE_SIZE", 2)
    _fill(app, clock, [("a", "user:1", f"s:{i}") for i in range(5)] + [("b", "user:1", "s:x")])
    sign_in(7, "audit.read")

    def links(html: str) -> tuple[str | None, str | None]:
        doc = parse(html)
        prev, nxt = doc.first(cls="govuk-pagination__prev"), doc.first(cls="govuk-pagination__next")
        return (prev.links()[0] if prev else None), (nxt.links()[0] if nxt else None)

    html = client.get("/audit/?action=a").get_data(as_text=True)
    assert _indices(html) == [4, 3]
    prev, nxt = links(html)
    assert prev is None and nxt is not None and "action=a" in nxt and "offset" not in nxt
    html = client.get(nxt).get_data(as_text=True)
    assert _indices(html) == [2, 1]
    prev, nxt = links(html)
    html = client.get(nxt).get_data(as_text=True)
    assert _indices(html) == [0]
    prev, nxt = links(html)
    assert nxt is None and prev is not None
    html = client.get(prev).get_data(as_text=True)
    assert _indices(html) == [2, 1]
    prev, _nxt = links(html)
    html = client.get(prev).get_data(as_text=True)
    assert _indices(html) == [4, 3]
    assert links(html)[0] is None


def test_pages_refuse_callers_without_audit_read_and_log_it(app: Flask, client: Any, sign_in: Any, clock: Any) -> None:
    _fill(app, clock, ROWS[:2])
    assert client.get("/audit/").status_code in (302, 401)  # anonymous: sign in first
    sign_in(12, "tendering.bid")
    for url in ("/audit/", "/audit/entries/0", "/audit/export"):
        assert client.get(url).status_code == 403
    with app.app_context():
        denied = list(
            db.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "access.denied").order_by(AuditEntry.index)
            )
        )
        assert [(d.actor, d.subject) for d in denied] == [
            ("user:12", "audit_pages.log"),
            ("user:12", "audit_pages.entry"),
            ("user:12", "audit_pages.export"),
        ]
    nav = client.get("/").get_data(as_text=True)
    assert "/audit/" not in nav


# The navigation's link only: the explorer's queries run on PostgreSQL in the other tests of this file.
@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_nav_links_the_explorer_for_audit_readers(app: Flask, client: Any, sign_in: Any) -> None:
    sign_in(7, "audit.read")
    assert 'href="/audit/"' in client.get("/").get_data(as_text=True)


def test_entry_page_shows_the_proof_and_the_servers_verdict(app: Flask, client: Any, sign_in: Any, clock: Any) -> None:
    _fill(app, clock, ROWS)
    _fill(app, clock, [("late", "system", None)], checkpoint=False)
    sign_in(7, "audit.read")
    with client.session_transaction() as sess:
        sess["lang"] = "en"
    html = client.get("/audit/entries/2").get_data(as_text=True)
    with app.app_context():
        row = db.session.get(AuditEntry, 2)
        cp = db.session.execute(select(Checkpoint)).scalar_one()
        canonical = row.canonical.decode()
        assert row.leaf_hash.hex() in html
        assert cp.root_hash.hex() in html and cp.key_id in html
        proof = services.get_entry(2)["inclusion"]["proof"]
    assert all(h in html for h in proof) and len(proof) == 3
    assert parse(html).by_id("server-verdict").get("data-ok") == "true"
    proof_script = parse(html).by_id("audit-proof")
    assert proof_script.tag == "script" and proof_script.get("type") == "application/json"
    config = json.loads(proof_script.text)
    assert config["canonical"] == canonical and config["tree_size"] == 6 and config["proof"] == proof
    assert config["keys_url"] == "/.well-known/platform-keys.json"
    issued = format_iso_instant(config["checkpoint"]["payload"]["issued_at"], app.config["CENTER_TIMEZONE"])
    assert "(Asia/Shanghai" in issued and issued in html  # the checkpoint's time in the center's zone
    assert 'src="/static/dist/audit-verify.js"' in html and "<script>" not in html  # no inline script (CSP)

    # not yet covered by a checkpoint: said so, nothing for the browser to check
    html = client.get("/audit/entries/6").get_data(as_text=True)
    assert 'data-ok="none"' in html and 'id="audit-proof"' not in html
    assert client.get("/audit/entries/7").status_code == 404
    assert client.get("/audit/entries/99999999999999999999999").status_code == 404


def test_server_verdict_catches_a_tampered_entry(app: Flask, client: Any, sign_in: Any, clock: Any) -> None:
    _fill(app, clock, ROWS)
    with app.app_context():
        row = db.session.get(AuditEntry, 3)
        row.canonical = row.canonical.replace(b'"user:1"', b'"user:9"')
        db.session.commit()
    sign_in(7, "audit.read")
    html = client.get("/audit/entries/3").get_data(as_text=True)
    assert 'data-ok="false"' in html
    assert 'data-ok="true"' in client.get("/audit/entries/2").get_data(as_text=True)


def test_export_of_a_filter_verifies_offline(app: Flask, client: Any, sign_in: Any, clock: Any) -> None:
    _fill(app, clock, ROWS)
    sign_in(7, "audit.read")
    resp = client.get("/audit/export?actor=user:3")
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"] == 'attachment; filename="audit-log-2-5.json"'
    document = json.loads(resp.get_data())
    assert (document["start"], document["end"]) == (2, 5)  # from the first to the last match, gaps included
    assert [e["actor"] for e in document["entries"]] == ["user:3", "user:1", "user:3"]
    outcome = verify_export(document, _key(client))
    assert outcome.ok, outcome.message
    # the same document the API gives for that range
    assert client.get("/api/v1/audit/export?start=2&end=5").get_json() == document


def test_export_refusals_come_back_to_the_page(app: Flask, client: Any, sign_in: Any, clock: Any) -> None:
    _fill(app, clock, ROWS)
    _fill(app, clock, [("late", "system", None)], checkpoint=False)
    sign_in(7, "audit.read")
    with client.session_transaction() as sess:
        sess["lang"] = "en"
    for query, words in [
        ("actor=nobody", "nothing to export"),
        ("action=late", "not covered by a signed checkpoint"),
        ("since=1999-01-01T00:00", "2000"),
    ]:
        resp = client.get("/audit/export?" + query)
        assert resp.status_code == 303, query
        page = client.get(resp.headers["Location"])
        assert words in page.get_data(as_text=True), query
    app.config["AUDIT_EXPORT_MAX_ENTRIES"] = 2
    resp = client.get("/audit/export?actor=user:1", follow_redirects=True)
    assert "at most 2" in resp.get_data(as_text=True)
