"""The pure expert draw: deterministic, conflict-free, replayable by an auditor from the snapshot alone."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.evaluation.committee import draw
from app.evaluation.committee.draw import DrawError, PoolExpert

SPECIALTIES = ("civil", "electrical", "cost", "hvac")


def expert(
    i: int,
    *,
    employer: int | None = None,
    specs: tuple[str, ...] = ("civil",),
    status: str = "active",
    available: bool = True,
    related: tuple[int, ...] = (),
) -> PoolExpert:
    return PoolExpert(i, employer, specs, "邯郸", status, available, related)


def pool(n: int = 20) -> list[PoolExpert]:
    return [
        expert(i, employer=1000 + i % 7, specs=(SPECIALTIES[i % 4], SPECIALTIES[(i + 1) % 4])) for i in range(1, n + 1)
    ]


SEED = bytes(range(32))


def test_the_lowest_hmac_keys_are_drawn_by_group_then_reserves_in_order() -> None:
    snap = draw.build_snapshot(pool(), conflict_org_ids=[])
    result = draw.select(
        SEED,
        snap,
        {"groups": [{"specialty": "cost", "count": 2, "reserves": 1}, {"specialty": None, "count": 3, "reserves": 2}]},
    )
    keyed = sorted(range(1, 21), key=lambda i: (draw.sort_key(SEED, i), i))
    cost = [i for i in keyed if "cost" in (SPECIALTIES[i % 4], SPECIALTIES[(i + 1) % 4])]
    assert result["groups"][0]["selected"] == cost[:2]
    assert result["groups"][0]["reserves"] == cost[2:3]
    rest = [i for i in keyed if i not in cost[:3]]
    assert result["groups"][1]["selected"] == rest[:3]
    assert result["groups"][1]["reserves"] == rest[3:5]
    # the key is HMAC-SHA256(seed, "expert:<id>"), as documented for auditors
    import hmac

    assert draw.sort_key(SEED, 7) == hmac.new(SEED, b"expert:7", hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (expert(1, employer=500), "employer-conflict"),
        (expert(1, related=(501,)), "declared-relationship"),
        (expert(1, status="suspended"), "suspended"),
        (expert(1, status="blacklisted"), "blacklisted"),
        (expert(1, available=False), "unavailable"),
    ],
)
def test_conflicted_and_inactive_experts_are_never_drawn(member: PoolExpert, reason: str) -> None:
    others = [expert(i, employer=900) for i in range(2, 8)]
    snap = draw.build_snapshot([member, *others], conflict_org_ids=[500, 501])
    result = draw.select(SEED, snap, {"groups": [{"specialty": None, "count": 6, "reserves": 0}]})
    assert result["excluded"] == {"1": reason}
    assert 1 not in draw.selected_ids(result)


def test_experts_of_an_earlier_round_are_excluded_from_a_supplementary_draw() -> None:
    snap = draw.build_snapshot(pool(8), conflict_org_ids=[], already_drawn=[1, 2, 3])
    result = draw.select(SEED, snap, {"groups": [{"specialty": None, "count": 5, "reserves": 0}]})
    assert sorted(draw.selected_ids(result)) == [4, 5, 6, 7, 8]
    assert result["excluded"] == {"1": "already-drawn", "2": "already-drawn", "3": "already-drawn"}


def test_a_pool_too_small_is_refused_and_a_reserve_shortfall_is_reported() -> None:
    snap = draw.build_snapshot(pool(6), conflict_org_ids=[])
    with pytest.raises(DrawError, match="7 needed"):
        draw.select(SEED, snap, {"groups": [{"specialty": None, "count": 7, "reserves": 0}]})
    result = draw.select(SEED, snap, {"groups": [{"specialty": None, "count": 5, "reserves": 3}]})
    assert result["groups"][0]["reserve_shortfall"] == 2


@pytest.mark.parametrize(
    "requirements",
    [
        {},
        {"groups": []},
        {"groups": [{"specialty": None, "count": 0}]},
        {"groups": [{"count": True}]},
        {"groups": [{"specialty": "", "count": 1}]},
        {"groups": [{"count": 1, "extra": 1}]},
        {"groups": "x"},
    ],
)
def test_malformed_requirements_are_refused(requirements: dict) -> None:
    with pytest.raises(DrawError):
        draw.select(SEED, draw.build_snapshot(pool(), conflict_org_ids=[]), requirements)


def test_bad_seed_and_duplicate_experts_are_refused() -> None:
    snap = draw.build_snapshot(pool(), conflict_org_ids=[])
    with pytest.raises(DrawError):
        draw.select(b"short", snap, {"groups": [{"count": 1}]})
    with pytest.raises(DrawError):
        draw.build_snapshot([expert(1), expert(1)], conflict_org_ids=[])


def test_an_auditor_replays_a_published_draw_from_json_and_detects_tampering() -> None:
    """The published record is plain JSON: revealed seed, snapshot, requirements, result."""
    seed = os.urandom(32)
    snap = draw.build_snapshot(pool(), conflict_org_ids=[1001, 1002])
    reqs = {
        "groups": [{"specialty": "civil", "count": 3, "reserves": 2}, {"specialty": None, "count": 2, "reserves": 1}]
    }
    result = draw.select(seed, snap, reqs)
    published = json.loads(
        json.dumps(
            {
                "seed": seed.hex(),
                "commitment": draw.seed_sha256(seed),
                "snapshot": snap,
                "snapshot_sha256": draw.snapshot_sha256(snap),
                "requirements": reqs,
                "result": result,
            }
        )
    )
    assert draw.replay(published["seed"], published["snapshot"], published["requirements"]) == published["result"]
    kwargs = {
        "seed_hex": published["seed"],
        "committed_sha256": published["commitment"],
        "snapshot": published["snapshot"],
        "recorded_snapshot_sha256": published["snapshot_sha256"],
        "requirements": published["requirements"],
        "recorded_result": published["result"],
    }
    assert draw.verify(**kwargs) == []
    other_seed = bytes(32)
    assert "the revealed seed does not match the commitment" in draw.verify(**{**kwargs, "seed_hex": other_seed.hex()})
    tampered = json.loads(json.dumps(published["snapshot"]))
    tampered["experts"] = tampered["experts"][1:]
    assert "the snapshot is not the one recorded at the draw" in draw.verify(**{**kwargs, "snapshot": tampered})
    forged = json.loads(json.dumps(published["result"]))
    forged["groups"][0]["selected"][0], forged["groups"][0]["reserves"][0] = (
        forged["groups"][0]["reserves"][0],
        forged["groups"][0]["selected"][0],
    )
    assert "the replayed selection differs from the recorded one" in draw.verify(
        **{**kwargs, "recorded_result": forged}
    )


experts_st = st.lists(
    st.builds(
        PoolExpert,
        id=st.integers(1, 500),
        employer_id=st.one_of(st.none(), st.integers(1, 12)),
        specialties=st.lists(st.sampled_from(SPECIALTIES), min_size=1, max_size=3).map(tuple),
        region=st.just("邯郸"),
        status=st.sampled_from(["active", "active", "active", "suspended", "blacklisted"]),
        available=st.booleans() | st.just(True),
        related_org_ids=st.lists(st.integers(1, 12), max_size=2).map(tuple),
    ),
    min_size=0,
    max_size=40,
    unique_by=lambda e: e.id,
)
groups_st = st.lists(
    st.fixed_dictionaries(
        {
            "specialty": st.one_of(st.none(), st.sampled_from(SPECIALTIES)),
            "count": st.integers(1, 4),
            "reserves": st.integers(0, 3),
        }
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(
    experts=experts_st,
    conflicts=st.lists(st.integers(1, 12), max_size=4),
    groups=groups_st,
    seed=st.binary(min_size=32, max_size=32),
    shuffle=st.randoms(),
)
def test_draw_invariants(
    experts: list[PoolExpert], conflicts: list[int], groups: list[dict], seed: bytes, shuffle: object
) -> None:
    snap = draw.build_snapshot(experts, conflict_org_ids=conflicts)
    reqs = {"groups": groups}
    try:
        result = draw.select(seed, snap, reqs)
    except DrawError:
        return
    by_id = {e.id: e for e in experts}
    picked = draw.selected_ids(result) + draw.reserve_ids(result)
    assert len(picked) == len(set(picked)), "nobody is drawn twice"
    for group, out in zip(groups, result["groups"], strict=True):
        assert len(out["selected"]) == group["count"]
        assert len(out["reserves"]) + out["reserve_shortfall"] == group["reserves"]
        for i in out["selected"] + out["reserves"]:
            e = by_id[i]
            assert e.status == "active" and e.available
            assert e.employer_id not in conflicts and not set(e.related_org_ids) & set(conflicts)
            assert group["specialty"] is None or group["specialty"] in e.specialties
    # the input order of the pool does not matter; the same inputs always give the same result
    reordered = list(experts)
    shuffle.shuffle(reordered)  # type: ignore[attr-defined]
    assert draw.select(seed, draw.build_snapshot(reordered, conflict_org_ids=conflicts), reqs) == result
    assert draw.replay(seed.hex(), json.loads(json.dumps(snap)), reqs) == result
