"""Who reaches which evaluation route at which stage: route × role × stage, table-driven, through the API.

One tender (T1) is carried from its draw to the award; at each stage every role calls every route and the status
codes are compared with the table below. A second tender (T2) has its own committee: its expert is "another
expert of another tender". Besides the status codes, the bodies are searched for the members' individual scores
(distinctive values such as 31.25): a bidder never reads one before publication, the agency none before the
aggregation, and nobody outside the committee, the agency and overseers ever reads the room's result.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.accounts.helpers import PASSWORD
from tests.evaluation.helpers import build_pool, buyer_rep, committee_body, draw, opened_tender, put_json, seated
from tests.evaluation.helpers import seat_everyone as seat_all
from tests.tendering.helpers import Api

TECH, COMM = "技术方案", "商务及信誉"
ROLES = (
    "chair",
    "member",
    "reserve",
    "other_expert",
    "bidder",
    "nonbidder",
    "agency",
    "other_agency",
    "auditor",
    "anonymous",
)
ROUTES = {
    "committee": "/api/v1/tenders/{t}/committee",
    "draw_record": "/api/v1/tenders/{t}/committee/draws/1",
    "room": "/api/v1/tenders/{t}/rooms/1",
    "room_bids": "/api/v1/tenders/{t}/rooms/1/bids",
    "clarifications": "/api/v1/tenders/{t}/rooms/1/clarifications",
    "my_clarifications": "/api/v1/my/clarifications",
    "review": "/api/v1/tenders/{t}/rooms/1/review",
    "chair": "/api/v1/tenders/{t}/rooms/1/chair",
    "sheets": "/api/v1/tenders/{t}/rooms/1/sheets",
    "result": "/api/v1/tenders/{t}/rooms/1/result",
    "report": "/api/v1/tenders/{t}/evaluation/report",
    "objections": "/api/v1/tenders/{t}/evaluation/objections",
    "award": "/api/v1/tenders/{t}/evaluation/award",
    "other_room": "/api/v1/tenders/{t2}/rooms/1",
    "other_sheets": "/api/v1/tenders/{t2}/rooms/1/sheets",
}
PUBLIC_READERS = ("bidder", "nonbidder", "other_expert", "agency", "anonymous")
MEMBERS = ("chair", "member")
OVERSEE = ("agency", "auditor")
OUTSIDERS = ("reserve", "other_expert", "bidder", "nonbidder", "other_agency")


def row(default: int, **by_role: int) -> dict[str, int]:
    """Expected status per role: `default` for every role not named, 401 for the anonymous caller."""
    out = dict.fromkeys(ROLES, default)
    out.update(by_role)
    out["anonymous"] = by_role.get("anonymous", 401)
    return out


def by(roles: tuple[str, ...] | str, status: int) -> dict[str, int]:
    return dict.fromkeys((roles,) if isinstance(roles, str) else roles, status)


# the committee view: members (reserves too: they hold a membership), the agency and overseers
COMMITTEE = row(403, **by((*MEMBERS, "reserve", *OVERSEE), 200))
# the draw's full record: overseers until publication, then the agency and the members as well
DRAW_BEFORE = row(403, auditor=200)
DRAW_AFTER = row(403, **by((*MEMBERS, "reserve", *OVERSEE), 200))
ROOM = row(403, **by((*MEMBERS, *OVERSEE), 200))
MEMBERS_ONLY = row(403, **by(MEMBERS, 200))
RESULT_PENDING = row(403, **by((*MEMBERS, *OVERSEE), 409))
RESULT_READY = row(403, **by((*MEMBERS, *OVERSEE), 200))
NO_ROOM = row(404)  # before the room opens, for everyone who may read the tender
REPORT_NONE = row(403, **by((*MEMBERS, *OVERSEE), 404))
REPORT_UNDECLARED = row(403, **by(OVERSEE, 404))  # members enter once they have signed the declaration
REPORT_INTERNAL = row(403, **by((*MEMBERS, *OVERSEE), 200))
REPORT_PUBLIC = row(403, **by((*MEMBERS, *OVERSEE, "bidder"), 200))
OBJECTIONS = row(403, **by((*OVERSEE, "bidder"), 200))
AWARD_NONE = row(403, **by((*OVERSEE, "bidder"), 404))
AWARD_ISSUED = row(403, **by((*OVERSEE, "bidder"), 200))
OTHER_ROOM = row(403, agency=200, auditor=200, other_expert=200)  # T1's members are strangers in T2's room
OTHER_SHEETS = row(403, other_expert=200)
MY_CLARIFICATIONS = row(403, bidder=200, nonbidder=200)  # the bidding permission; each reads only its own

# once the room is open (scoring); the later stages differ from it only where they say
ROOM_OPEN = {
    "committee": COMMITTEE,
    "draw_record": DRAW_BEFORE,
    "room": ROOM,
    "room_bids": MEMBERS_ONLY,
    "clarifications": ROOM,
    "my_clarifications": MY_CLARIFICATIONS,
    "review": MEMBERS_ONLY,
    "chair": MEMBERS_ONLY,
    "sheets": MEMBERS_ONLY,
    "result": RESULT_PENDING,
    "report": REPORT_NONE,
    "objections": OBJECTIONS,
    "award": AWARD_NONE,
}
OTHER_TENDER = {"other_room": OTHER_ROOM, "other_sheets": OTHER_SHEETS}  # checked in two stages only

EXPECTED: dict[str, dict[str, dict[str, int]]] = {
    "undeclared": {
        "committee": COMMITTEE,
        "draw_record": DRAW_BEFORE,
        "room": NO_ROOM,
        "room_bids": NO_ROOM,
        "clarifications": NO_ROOM,
        "my_clarifications": MY_CLARIFICATIONS,
        "review": NO_ROOM,
        "chair": NO_ROOM,
        "sheets": NO_ROOM,
        "result": NO_ROOM,
        "report": REPORT_UNDECLARED,
        "objections": OBJECTIONS,
        "award": AWARD_NONE,
    },
    "scoring": {**ROOM_OPEN, **OTHER_TENDER},
    "aggregated": {**ROOM_OPEN, "result": RESULT_READY, "report": REPORT_INTERNAL},
    "published": {**ROOM_OPEN, "draw_record": DRAW_AFTER, "result": RESULT_READY, "report": REPORT_PUBLIC},
    "awarded": {
        **ROOM_OPEN,
        "draw_record": DRAW_AFTER,
        "result": RESULT_READY,
        "report": REPORT_PUBLIC,
        "award": AWARD_ISSUED,
        **OTHER_TENDER,
    },
}


def tech(seat: int, k: int) -> str:
    """A distinctive technical score (seat 1..5, bid index 0..2), e.g. 31.25: searched for in every body."""
    return f"{30 + seat}.{25 + 25 * k}"


COMM_SCORE = "11.75"


def individual_scores() -> set[str]:
    out = {f"{float(tech(s, k)):.2f}" for s in range(1, 6) for k in range(3)}
    return out | {COMM_SCORE}


def leaked(body: str) -> list[str]:
    return sorted(s for s in individual_scores() if f'"{s}"' in body)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)  # access is decided from roles and state
def test_route_role_stage_matrix(world, clock) -> None:
    pool = build_pool(world, plain=14)
    rep = buyer_rep(world)

    # T2: another tender, its own committee and room; its expert sits in no committee of T1
    t2 = opened_tender(world, clock)["id"]
    assert put_json(world.agency, f"/api/v1/tenders/{t2}/committee", committee_body(rep)).status_code == 200
    draw(world, t2)
    t2_members = seat_all(world, t2, pool, rep)
    t2_experts = [p for p in t2_members.values() if p.user_id != rep.user_id]
    other_expert = t2_experts[0]
    for party in t2_experts:  # so that T1's draw seats none of them
        assert party.api.patch("/api/v1/evaluation/experts/me", {"available": False}).status_code == 200
    assert world.agency.api.post(f"/api/v1/tenders/{t2}/rooms", json_body={"stage": 1, "chair_seat": 5}).status_code
    assert other_expert.api.get(f"/api/v1/tenders/{t2}/rooms/1").status_code == 200

    # T1: drawn, every invited member confirms; nobody has declared yet
    tid = opened_tender(world, clock)["id"]
    assert put_json(world.agency, f"/api/v1/tenders/{tid}/committee", committee_body(rep)).status_code == 200
    draw(world, tid)
    seats = seated(world, tid)
    parties = {}
    for seat in seats:
        party = rep if seat["kind"] == "buyer_rep" else pool.by_user[seat["user_id"]]
        if seat["status"] == "invited":
            assert party.api.post(f"/api/v1/tenders/{tid}/committee/confirm").status_code == 200
        parties[seat["seat"]] = party
    assert not {p.user_id for p in t2_experts} & {p.user_id for p in parties.values()}
    others = world.auditor.api.get(f"/api/v1/tenders/{tid}/committee").json["others"]
    reserve = next(pool.by_user[o["user_id"]] for o in others if o["status"] == "reserve")
    assert reserve.user_id != other_expert.user_id

    callers: dict[str, Api] = {
        "chair": parties[1].api,
        "member": parties[2].api,
        "reserve": reserve.api,
        "other_expert": other_expert.api,
        "bidder": world.bidders[0].api,
        "nonbidder": world.bidders[3].api,
        "agency": world.agency.api,
        "other_agency": world.other_agency.api,
        "auditor": world.auditor.api,
        "anonymous": world.anonymous,
    }
    mismatches: list[tuple[str, str, str, int, int]] = []

    def check(stage: str) -> dict[tuple[str, str], str]:
        bodies = {}
        for route, template in ROUTES.items():
            if route not in EXPECTED[stage]:
                continue
            url = template.format(t=tid, t2=t2)
            for role in ROLES:
                resp = callers[role].get(url)
                want = EXPECTED[stage][route][role]
                if resp.status_code != want:
                    mismatches.append((stage, route, role, want, resp.status_code))
                if resp.status_code >= 400:
                    assert resp.mimetype == "application/problem+json", (stage, route, role)
                bodies[(route, role)] = resp.get_data(as_text=True)
        # what everyone may read: the tender, its opening record, the public list of candidates
        for role in PUBLIC_READERS:
            for url in (
                f"/api/v1/tenders/{tid}",
                f"/api/v1/tenders/{tid}/opening-records",
                "/api/v1/evaluation/publicity",
            ):
                bodies[(url, role)] = callers[role].get(url).get_data(as_text=True)
        return bodies

    def no_scores(stage: str, bodies: dict[tuple[str, str], str], roles: tuple[str, ...]) -> None:
        for (route, role), text in bodies.items():
            if role in roles:
                assert not leaked(text), (stage, route, role, leaked(text))

    # --- before the declaration: no room, no report --------------------------------------------------------
    bodies = check("undeclared")
    no_scores("undeclared", bodies, ROLES)
    assert (
        world.agency.api.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1, "chair_seat": 1}).status_code
        == 409
    )
    for party in parties.values():
        assert party.api.post(f"/api/v1/tenders/{tid}/committee/declaration", {"no_conflict": True}).status_code == 200

    # --- review ------------------------------------------------------------------------------------------
    opened = world.agency.api.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1, "chair_seat": 1})
    assert opened.status_code == 201, opened.json
    bids = opened.json["bid_ids"]
    base = f"/api/v1/tenders/{tid}/rooms/1"
    assert opened.json["phase"] == "review"
    for party in parties.values():
        verdicts = [{"bid_id": b, "requirement": r, "passed": True} for b in bids for r in ("资格审查", "符合性审查")]
        assert put_json(party, f"{base}/review", {"verdicts": verdicts}).status_code == 200
        assert party.api.post(f"{base}/review/submit").status_code == 200
    assert parties[1].api.post(f"{base}/review/close").json["phase"] == "scoring"

    # --- scoring: seats 1 and 2 submitted, seat 3 has a draft -----------------------------------------------
    def score(seat: int, submit: bool = True) -> None:
        for k, b in enumerate(bids):
            body = {"items": {TECH: tech(seat, k), COMM: COMM_SCORE}}
            assert put_json(parties[seat], f"{base}/sheets/{b}", body).status_code == 200
            if submit:
                assert parties[seat].api.post(f"{base}/sheets/{b}/submit").status_code == 200

    score(1)
    score(2)
    score(3, submit=False)
    bodies = check("scoring")
    # nobody but the member who typed them reads a score while scoring: not the chair, the agency, overseers
    no_scores("scoring", bodies, tuple(r for r in ROLES if r not in MEMBERS))
    own = {k: v for k, v in bodies.items() if k[1] in MEMBERS and k[0] != "sheets"}
    assert not any(leaked(text) for text in own.values())  # the chair sees progress, never the scores
    for seat, role in ((1, "chair"), (2, "member")):  # each reads its own sheets, nobody else's
        mine = {f"{float(tech(seat, k)):.2f}" for k in range(3)} | {COMM_SCORE}
        assert set(leaked(bodies[("sheets", role)])) == mine
    events = callers["agency"].get(f"{base}/events?max_seconds=1")
    assert events.status_code == 200 and not leaked(events.get_data(as_text=True))

    # --- aggregated, the report drawn up and signed (not yet published) --------------------------------------
    score(3, submit=True)
    score(4)
    score(5)
    assert parties[1].api.post(f"{base}/aggregate").status_code == 200
    ev = f"/api/v1/tenders/{tid}/evaluation"
    sha = parties[1].api.post(f"{ev}/report", json_body={}).json["report_sha256"]
    for party in parties.values():
        signed = party.api.post(f"{ev}/report/signatures", json_body={"report_sha256": sha, "password": PASSWORD})
        assert signed.status_code == 201, signed.json
    bodies = check("aggregated")
    no_scores("aggregated", bodies, (*OUTSIDERS, "anonymous"))
    assert leaked(bodies[("result", "agency")])  # the agency reads the scores once aggregated

    # --- published ---------------------------------------------------------------------------------------
    assert world.agency.api.post(f"{ev}/publicity", json_body={}).status_code == 200
    bodies = check("published")
    no_scores("published", bodies, ("reserve", "other_expert", "nonbidder", "other_agency", "anonymous"))
    public = bodies[("/api/v1/evaluation/publicity", "bidder")]
    assert f'"bid_id": "{bids[0]}"' in public or f'"bid_id":"{bids[0]}"' in public
    candidates = world.bidders[0].api.get("/api/v1/evaluation/publicity").json[0]["candidates"]
    assert [c["rank"] for c in candidates] == [1, 2, 3]

    # --- awarded -----------------------------------------------------------------------------------------
    clock.advance(timedelta(days=3, seconds=1))
    assert world.agency.api.post(f"{ev}/award").status_code == 201
    bodies = check("awarded")
    no_scores("awarded", bodies, ("reserve", "other_expert", "nonbidder", "other_agency", "anonymous"))

    assert mismatches == [], "\n".join(f"{s:11} {r:13} {role:13} want {w} got {g}" for s, r, role, w, g in mismatches)
