"""The agency's evaluation pages (Flask test client): the hub, the committee form, the committed draw, seats.

Forms are posted as the browser sends them (CSRF token from the page); the state is checked through the API
and the evidence log; the wrong role is refused; bad input answers with the page and its error summary.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.accounts.helpers import csrf_from
from tests.evaluation.helpers import (
    Pool,
    build_pool,
    buyer_rep,
    committee_body,
    draw,
    opened_tender,
    put_json,
    seated,
    user_field,
)
from tests.evaluation.pagetools import EN, ZH, page, signed_in
from tests.tendering.helpers import Party, World, audit_actions

# Pages are thin views over services whose own tests run on both engines: the pages once, on SQLite.
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


def _setup(world: World, clock: Any, *, define: bool = False) -> tuple[int, Pool, Party, Any]:
    tid = opened_tender(world, clock)["id"]
    pool = build_pool(world, plain=8)
    rep = buyer_rep(world)
    if define:
        assert put_json(world.agency, f"/api/v1/tenders/{tid}/committee", committee_body(rep)).status_code == 200
    return tid, pool, rep, signed_in(world, "agency-page", ["agency"], world.agency.org_id)


def _token(client: Any, url: str) -> str:
    return csrf_from(client.get(url, headers=EN).get_data(as_text=True))


def _committee(world: World, tid: int) -> Any:
    return world.agency.api.get(f"/api/v1/tenders/{tid}/committee")


def test_the_hub_lists_the_steps_in_order_and_the_tender_page_links_it(world, clock) -> None:
    tid, _pool, _rep, agent = _setup(world, clock)
    tender_page = page(agent.get(f"/agency/tenders/{tid}", headers=EN))
    assert tender_page.with_attr("id", "evaluation-link")[0]["href"] == f"/agency/tenders/{tid}/evaluation"

    hub = page(agent.get(f"/agency/tenders/{tid}/evaluation", headers=EN))
    steps = [a["data-step"] for a in hub.with_attr("data-step")]
    assert steps == [
        "committee",
        "draw",
        "confirmations",
        "rooms",
        "chair",
        "report",
        "publicity",
        "objections",
        "award",
    ]
    assert "Not started" in hub.text("step-committee")
    assert any(a.get("href") == f"/agency/tenders/{tid}/evaluation/committee" for a in hub.with_attr("href"))

    zh = page(agent.get(f"/agency/tenders/{tid}/evaluation", headers=ZH))
    assert "评标委员会" in zh.text("step-committee")


def test_the_committee_is_defined_through_its_form(world, clock) -> None:
    tid, _pool, rep, agent = _setup(world, clock)
    url = f"/agency/tenders/{tid}/evaluation/committee"
    form = page(agent.get(url, headers=EN))
    reps = [a["value"] for a in form.with_attr("name", "buyer_rep_ids")]
    assert str(rep.user_id) in reps
    data = {
        "csrf_token": _token(agent, url),
        "size": "5",
        "expert_seats": "4",
        "groups-0-specialty": "civil",
        "groups-0-count": "2",
        "reserves_per_group": "1",
        "buyer_rep_ids": str(rep.user_id),
        "outlier_percent": "30",
        "drop_extremes": "y",
        "price_benchmark": "average",
        "precision": "1",
        "drop_min_members": "5",
    }
    resp = agent.post(url, data=data, headers=EN)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    assert resp.headers["Location"].endswith(f"/agency/tenders/{tid}/evaluation")
    got = _committee(world, tid).json
    assert (got["size"], got["expert_seats"], got["reserves_per_group"]) == (5, 4, 1)
    assert got["groups"] == [{"specialty": "civil", "count": 2}, {"specialty": None, "count": 2}]
    assert got["rules"]["outlier_percent"] == 30 and got["rules"]["price_benchmark"] == "average"
    assert (got["rules"]["precision"], got["rules"]["drop_min_members"], got["rules"]["drop_extremes"]) == (1, 5, True)
    assert [s["kind"] for s in got["seats"]] == ["buyer_rep"]
    assert any(a == "evaluation.committee.defined" for a, *_ in audit_actions(world.app))

    shown = page(agent.get(url, headers=EN))
    assert shown.with_attr("name", "groups-0-specialty")  # still editable before the draw
    assert "土木建筑工程" in shown.text("group-list")
    hub = page(agent.get(f"/agency/tenders/{tid}/evaluation", headers=EN))
    assert "Defined" in hub.text("step-committee") and "Commit the draw" in hub.text("step-draw")


def test_bad_committee_input_shows_the_errors_and_writes_nothing(world, clock) -> None:
    tid, _pool, rep, agent = _setup(world, clock)
    url = f"/agency/tenders/{tid}/evaluation/committee"
    base = {"csrf_token": _token(agent, url), "size": "5", "expert_seats": "4", "reserves_per_group": "2"}
    for bad in (
        {"size": "6", "buyer_rep_ids": str(rep.user_id)},  # even: the service refuses it
        {"size": "5"},  # no buyer representative for the fifth seat
        {"groups-0-specialty": "civil", "groups-0-count": "9", "buyer_rep_ids": str(rep.user_id)},
        {"size": "", "buyer_rep_ids": str(rep.user_id)},  # the form's own check
    ):
        resp = agent.post(url, data={**base, **bad}, headers=EN)
        assert 400 <= resp.status_code < 500, (bad, resp.status_code)
        assert page(resp).error_summary, bad
    assert _committee(world, tid).status_code == 404
    assert not any(a == "evaluation.committee.defined" for a, *_ in audit_actions(world.app))


def test_commit_then_perform_the_draw_shows_the_commitment_the_seed_and_the_seats(world, clock) -> None:
    tid, pool, _rep, agent = _setup(world, clock, define=True)
    url = f"/agency/tenders/{tid}/evaluation/draw"
    before = page(agent.get(url, headers=EN))
    assert before.has("commit-draw") and before.has("no-draws")

    resp = agent.post(url, data={"csrf_token": _token(agent, url)}, headers=EN)
    assert resp.status_code == 303
    committed = _committee(world, tid).json["draws"][0]
    shown = page(agent.get(url, headers=EN))
    assert shown.text("commitment-1") == committed["seed_sha256"]
    assert shown.has("perform-draw") and not shown.has("commit-draw")
    assert shown.with_attr("data-round", "1")[0]["data-status"] == "committed"
    assert shown.with_attr("datetime")  # the commitment's time

    perform = f"{url}/1/perform"
    resp = agent.post(perform, data={"csrf_token": _token(agent, url)}, headers=EN)
    assert resp.status_code == 303
    performed = _committee(world, tid).json["draws"][0]
    done = page(agent.get(url, headers=EN))
    assert done.text("seed-1") == performed["seed"] and performed["status"] == "performed"
    assert "matches the commitment" in done.text("check-1")
    rows = done.with_attr("data-seat")
    assert sorted(int(r["data-seat"]) for r in rows) == [1, 2, 3, 4, 5]
    # The agency never sees the drawn experts' names before publication (visibility.py).
    names = {user_field(world, p.user_id, "display_name") for p in pool.by_user.values()}
    assert not any(n in done.body for n in names)
    assert done.classed("app-name-withheld")

    # A second perform of the same round is a conflict shown on the page; nothing changes.
    again = agent.post(perform, data={"csrf_token": _token(agent, url)}, headers=EN)
    assert again.status_code == 409 and page(again).error_summary


def test_releasing_a_seat_needs_a_reason_and_invites_the_next_reserve(world, clock) -> None:
    tid, _pool, _rep, agent = _setup(world, clock, define=True)
    draw(world, tid)
    url = f"/agency/tenders/{tid}/evaluation/draw"
    seat = next(s for s in seated(world, tid) if s["kind"] == "expert")
    release = f"/agency/tenders/{tid}/evaluation/seats/{seat['seat']}/release"

    empty = agent.post(release, data={"csrf_token": _token(agent, url), "reason": ""}, headers=EN)
    assert empty.status_code == 400 and page(empty).error_summary
    assert next(s for s in seated(world, tid) if s["seat"] == seat["seat"])["user_id"] == seat["user_id"]

    resp = agent.post(release, data={"csrf_token": _token(agent, url), "reason": "电话无法接通"}, headers=EN)
    assert resp.status_code == 303
    now = next(s for s in seated(world, tid) if s["seat"] == seat["seat"])
    assert now["user_id"] != seat["user_id"] and now["status"] == "invited"
    assert any(a == "evaluation.member.released" for a, *_ in audit_actions(world.app))

    # Releasing a seat nobody is invited to is refused with the page's message.
    rep_seat = f"/agency/tenders/{tid}/evaluation/seats/5/release"
    conflict = agent.post(rep_seat, data={"csrf_token": _token(agent, url), "reason": "x"}, headers=EN)
    assert conflict.status_code == 409 and page(conflict).error_summary


def test_the_seats_page_shows_each_answer_and_declaration(world, clock) -> None:
    tid, pool, _rep, agent = _setup(world, clock, define=True)
    draw(world, tid)
    seats = seated(world, tid)
    first = next(s for s in seats if s["kind"] == "expert")
    party = pool.by_user[first["user_id"]]
    assert party.api.post(f"/api/v1/tenders/{tid}/committee/confirm").status_code == 200
    declared = party.api.post(f"/api/v1/tenders/{tid}/committee/declaration", {"no_conflict": True})
    assert declared.status_code == 200

    shown = page(agent.get(f"/agency/tenders/{tid}/evaluation/seats", headers=EN))
    by_seat = {r["data-seat"]: r for r in shown.with_attr("data-seat")}
    assert by_seat[str(first["seat"])]["data-status"] == "confirmed"
    assert by_seat["5"]["data-kind"] == "buyer_rep"
    assert "Declared no conflict" in shown.text("seats")
    assert sum(r["data-status"] == "invited" for r in by_seat.values()) == 3
    hub = page(agent.get(f"/agency/tenders/{tid}/evaluation", headers=EN))
    assert "1 of 5 declared" in hub.text("step-confirmations")


def test_pages_refuse_the_wrong_people(world, clock) -> None:
    tid, _pool, _rep, _agent = _setup(world, clock, define=True)
    urls = [
        f"/agency/tenders/{tid}/evaluation",
        f"/agency/tenders/{tid}/evaluation/committee",
        f"/agency/tenders/{tid}/evaluation/draw",
        f"/agency/tenders/{tid}/evaluation/seats",
    ]
    other = signed_in(world, "other-agent", ["agency"], world.other_agency.org_id)
    bidder = signed_in(world, "bidder-page", ["bidder"], world.bidders[0].org_id)
    for client in (other, bidder):
        for url in urls:
            assert client.get(url, headers=EN).status_code == 403, url
    token = _token(other, "/")
    resp = other.post(f"/agency/tenders/{tid}/evaluation/draw", data={"csrf_token": token}, headers=EN)
    assert resp.status_code == 403
    assert _committee(world, tid).json["draws"] == []
    assert world.app.test_client().get(urls[0]).status_code in (302, 303, 401)


def test_a_vacant_buyer_seat_is_filled_through_the_appoint_form(world, clock) -> None:
    tid, _pool, rep, agent = _setup(world, clock, define=True)
    draw(world, tid)
    recused = rep.api.post(f"/api/v1/tenders/{tid}/committee/declaration", {"no_conflict": False, "detail": "亲属投标"})
    assert recused.status_code == 200
    other = buyer_rep(world, "buyerrep2")
    url = f"/agency/tenders/{tid}/evaluation/committee"
    shown = page(agent.get(url, headers=EN))
    assert shown.has("appoint-form") and not shown.has("committee-form")  # fixed once the draw began
    token = _token(agent, url)
    bad = agent.post(f"{url}/buyer-reps", data={"csrf_token": token, "appoint-seat": "5", "appoint-user_id": "0"})
    assert bad.status_code == 400 and page(bad).error_summary
    taken = agent.post(
        f"{url}/buyer-reps", data={"csrf_token": token, "appoint-seat": "5", "appoint-user_id": str(rep.user_id)}
    )
    assert taken.status_code == 409 and page(taken).error_summary  # the recused member is still on the committee
    resp = agent.post(
        f"{url}/buyer-reps", data={"csrf_token": token, "appoint-seat": "5", "appoint-user_id": str(other.user_id)}
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    seat5 = next(s for s in seated(world, tid) if s["seat"] == 5)
    assert (seat5["user_id"], seat5["status"]) == (other.user_id, "confirmed")


def test_the_evaluation_pages_read_in_chinese_through_the_draw(world, clock) -> None:
    from tests.evaluation.test_zh_pages import english_words, user_data, visible_text

    tid, _pool, _rep, agent = _setup(world, clock, define=True)
    url = f"/agency/tenders/{tid}/evaluation/draw"
    assert agent.post(url, data={"csrf_token": _token(agent, url)}).status_code == 303
    base = f"/agency/tenders/{tid}/evaluation"
    pages = [base, url, f"{base}/committee", f"{base}/seats"]
    data = user_data(world.app)
    for state in ("committed", "performed"):
        for address in pages:
            resp = agent.get(address, headers=ZH)
            assert resp.status_code == 200
            assert not english_words(visible_text(resp.get_data(as_text=True)), data), (state, address)
        if state == "committed":
            perform = agent.post(f"{url}/1/perform", data={"csrf_token": _token(agent, url)})
            assert perform.status_code == 303
