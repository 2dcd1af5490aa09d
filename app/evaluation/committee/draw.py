"""The verifiable expert draw: a pure function of (seed, canonical pool snapshot, requirements) an auditor can replay.

How a draw is made and checked:

1. Before the draw the platform picks a random 32-byte seed and writes only its SHA-256 to the evidence log.
2. At the draw it freezes the pool into a snapshot (`build_snapshot`), runs `select` and writes the seed, the
   snapshot's SHA-256, the requirements and the result to the log.
3. Anybody holding the snapshot replays it with `replay` (or `python -c` on this module: it imports nothing
   from the application) and compares the result; `verify` does exactly that and checks the commitment.

Eligibility is part of the function, so the exclusions are replayed too: an expert is eligible when active,
available, not already drawn for this committee, not employed by a conflicted organisation (a bidder, the
buyer, the agency) and not related to one by a declared relationship. Each eligible expert gets the sort key
HMAC-SHA256(seed, "expert:<id>"); each requirement group (in the order given) takes the lowest keys among the
still-unpicked experts that hold its specialty (any specialty when it names none), first its members, then
its reserves in order.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from crypto.canonical import canonicalize

SNAPSHOT_FORMAT = "platform-expert-pool/v1"
RESULT_FORMAT = "platform-expert-draw/v1"
SEED_SIZE = 32


class DrawError(ValueError):
    """The pool cannot satisfy the requirements, or the input is malformed."""


@dataclass(frozen=True)
class PoolExpert:
    """What the draw knows of an expert: nothing that names them."""

    id: int
    employer_id: int | None
    specialties: tuple[str, ...]
    region: str
    status: str  # active | suspended | blacklisted
    available: bool
    related_org_ids: tuple[int, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "employer_id": self.employer_id,
            "specialties": sorted(set(self.specialties)),
            "region": self.region,
            "status": self.status,
            "available": self.available,
            "related_org_ids": sorted(set(self.related_org_ids)),
        }


def build_snapshot(
    experts: Iterable[PoolExpert], *, conflict_org_ids: Iterable[int], already_drawn: Iterable[int] = ()
) -> dict[str, Any]:
    """The canonical pool snapshot: experts sorted by id, sets sorted, so equal pools give equal bytes."""
    rows = sorted((e.as_json() for e in experts), key=lambda r: r["id"])
    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise DrawError("an expert appears twice in the pool")
    return {
        "format": SNAPSHOT_FORMAT,
        "experts": rows,
        "conflict_org_ids": sorted(set(conflict_org_ids)),
        "already_drawn": sorted(set(already_drawn)),
    }


def snapshot_sha256(snapshot: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonicalize(snapshot)).hexdigest()


def seed_sha256(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def sort_key(seed: bytes, expert_id: int) -> str:
    """The expert's place in the draw: HMAC-SHA256(seed, 'expert:<id>') as hex (lowest is drawn first)."""
    return hmac.new(seed, f"expert:{expert_id}".encode(), hashlib.sha256).hexdigest()


def exclusion(expert: Mapping[str, Any], snapshot: Mapping[str, Any]) -> str | None:
    """Why the expert cannot be drawn from this snapshot, or None when eligible."""
    conflicts = set(snapshot["conflict_org_ids"])
    if expert["status"] != "active":
        return str(expert["status"])  # suspended | blacklisted
    if not expert["available"]:
        return "unavailable"
    if expert["id"] in set(snapshot["already_drawn"]):
        return "already-drawn"
    if expert["employer_id"] is not None and expert["employer_id"] in conflicts:
        return "employer-conflict"
    if conflicts.intersection(expert["related_org_ids"]):
        return "declared-relationship"
    return None


def normalise_requirements(requirements: Mapping[str, Any]) -> dict[str, Any]:
    """{"groups": [{"specialty": code | None, "count": n >= 1, "reserves": r >= 0}, ...]}, checked."""
    groups = requirements.get("groups") if isinstance(requirements, Mapping) else None
    if not isinstance(groups, list) or not groups:
        raise DrawError("requirements need at least one group")
    out = []
    for g in groups:
        if not isinstance(g, Mapping) or set(g) - {"specialty", "count", "reserves"}:
            raise DrawError("a group is {specialty, count, reserves}")
        specialty, count, reserves = g.get("specialty"), g.get("count"), g.get("reserves", 0)
        if specialty is not None and (not isinstance(specialty, str) or not specialty):
            raise DrawError("a group's specialty is a code or null")
        for name, value, low in (("count", count, 1), ("reserves", reserves, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 100:
                raise DrawError(f"a group's {name} is a whole number from {low} to 100")
        out.append({"specialty": specialty, "count": count, "reserves": reserves})
    return {"groups": out}


def select(seed: bytes, snapshot: Mapping[str, Any], requirements: Mapping[str, Any]) -> dict[str, Any]:
    """The draw. Deterministic in its three inputs; raises DrawError when a group cannot get its members.

    A group that finds fewer reserves than asked gets the ones there are (the shortfall is in the result).
    """
    if not isinstance(seed, bytes | bytearray) or len(seed) != SEED_SIZE:
        raise DrawError(f"the seed has {SEED_SIZE} bytes")
    if snapshot.get("format") != SNAPSHOT_FORMAT:
        raise DrawError("not a pool snapshot of the supported format")
    reqs = normalise_requirements(requirements)
    seed = bytes(seed)
    excluded: dict[str, str] = {}
    eligible: list[Mapping[str, Any]] = []
    for expert in sorted(snapshot["experts"], key=lambda r: r["id"]):
        reason = exclusion(expert, snapshot)
        if reason is None:
            eligible.append(expert)
        else:
            excluded[str(expert["id"])] = reason
    order = sorted(eligible, key=lambda r: (sort_key(seed, r["id"]), r["id"]))
    taken: set[int] = set()
    groups_out = []
    for group in reqs["groups"]:
        spec = group["specialty"]
        candidates = [r["id"] for r in order if r["id"] not in taken and (spec is None or spec in r["specialties"])]
        if len(candidates) < group["count"]:
            raise DrawError(
                f"the pool has {len(candidates)} eligible expert(s) for {spec or 'any specialty'}, "
                f"{group['count']} needed"
            )
        chosen = candidates[: group["count"]]
        reserves = candidates[group["count"] : group["count"] + group["reserves"]]
        taken.update(chosen, reserves)
        groups_out.append(
            {
                "specialty": spec,
                "selected": chosen,
                "reserves": reserves,
                "reserve_shortfall": group["reserves"] - len(reserves),
            }
        )
    return {
        "format": RESULT_FORMAT,
        "eligible": sorted(r["id"] for r in eligible),
        "excluded": excluded,
        "groups": groups_out,
    }


def replay(seed_hex: str, snapshot: Mapping[str, Any], requirements: Mapping[str, Any]) -> dict[str, Any]:
    """Re-run a published draw from its revealed seed (hex)."""
    try:
        seed = bytes.fromhex(seed_hex)
    except ValueError as exc:
        raise DrawError("the seed is not hex") from exc
    return select(seed, snapshot, requirements)


def verify(
    *,
    seed_hex: str,
    committed_sha256: str,
    snapshot: Mapping[str, Any],
    recorded_snapshot_sha256: str,
    requirements: Mapping[str, Any],
    recorded_result: Mapping[str, Any],
) -> list[str]:
    """Every way a published draw fails to check out (empty when it verifies)."""
    problems: list[str] = []
    try:
        seed = bytes.fromhex(seed_hex)
    except ValueError:
        return ["the revealed seed is not hex"]
    if not hmac.compare_digest(seed_sha256(seed), committed_sha256):
        problems.append("the revealed seed does not match the commitment")
    if snapshot_sha256(snapshot) != recorded_snapshot_sha256:
        problems.append("the snapshot is not the one recorded at the draw")
    try:
        result = select(seed, snapshot, requirements)
    except DrawError as exc:
        return [*problems, f"the draw does not replay: {exc}"]
    if canonicalize(result) != canonicalize(dict(recorded_result)):
        problems.append("the replayed selection differs from the recorded one")
    return problems


def selected_ids(result: Mapping[str, Any]) -> list[int]:
    return [i for g in result["groups"] for i in g["selected"]]


def reserve_ids(result: Mapping[str, Any]) -> list[int]:
    return [i for g in result["groups"] for i in g["reserves"]]


def group_of(result: Mapping[str, Any], expert_id: int) -> int | None:
    for index, g in enumerate(result["groups"]):
        if expert_id in g["selected"] or expert_id in g["reserves"]:
            return index
    return None
