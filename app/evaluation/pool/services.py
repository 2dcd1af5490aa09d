"""The expert pool: the specialty list, expert profiles, their status and declared relationships."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.accounts.models import Organisation, User
from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, NotFound, ValidationFailed, field_error
from app.core.problems import N_
from app.core.reference import provides
from app.core.time import now_utc
from app.evaluation.committee.draw import PoolExpert
from app.evaluation.models import ExpertProfile, ExpertRelationship, ExpertStatus, Specialty

SPECIALTY_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
MAX_QUALIFICATIONS = 20

DEFAULT_SPECIALTIES: tuple[tuple[str, str, str], ...] = (
    ("civil", "土木建筑工程", "Civil and building works"),
    ("electrical", "电气工程", "Electrical engineering"),
    ("hvac", "暖通空调", "Heating, ventilation and air conditioning"),
    ("cost", "工程造价", "Cost engineering"),
    ("it", "信息技术", "Information technology"),
    ("medical", "医疗设备", "Medical equipment"),
    ("goods", "通用货物", "General goods"),
    ("finance", "财务会计", "Finance and accounting"),
    ("legal", "法律", "Law"),
)


@provides("evaluation.specialties")
def ensure_specialties() -> None:
    """The default specialty list; an existing code is left as the administrators edited it.

    Reference providers are process-wide; an app that does not load this module has no tables for it.
    """
    if "evaluation" not in current_app.extensions:
        return
    present = set(db.session.scalars(select(Specialty.code)))
    for code, zh, en in DEFAULT_SPECIALTIES:
        if code not in present:
            db.session.add(Specialty(code=code, name_zh=zh, name_en=en, active=True))
    db.session.flush()


def _fail(field: str, message: str, params: Mapping[str, Any] | None = None) -> ValidationFailed:
    return field_error(field, message, params)


# --- specialties -------------------------------------------------------------------------------------


def list_specialties(*, include_inactive: bool = False) -> list[Specialty]:
    stmt = select(Specialty).order_by(Specialty.code)
    if not include_inactive:
        stmt = stmt.where(Specialty.active.is_(True))
    return list(db.session.scalars(stmt))


def save_specialty(*, actor: User, code: str, name_zh: str, name_en: str, active: bool = True) -> Specialty:
    """Add a specialty, or rename or (de)activate one; codes keep their meaning. Raises ValidationFailed."""
    if not SPECIALTY_CODE.match(code):
        raise _fail("code", N_("a code is 1-40 of a-z, 0-9, '_' and '-', starting with a letter"))
    if not name_zh.strip() or not name_en.strip():
        raise _fail("name", N_("both names are required"))
    row = db.session.scalar(select(Specialty).where(Specialty.code == code))
    created = row is None
    if row is None:
        row = Specialty(code=code)
        db.session.add(row)
    row.name_zh, row.name_en, row.active = name_zh.strip(), name_en.strip(), active
    db.session.flush()
    record(
        "evaluation.specialty.saved",
        actor=actor,
        subject=f"specialty:{code}",
        data={"created": created, "name_zh": row.name_zh, "name_en": row.name_en, "active": active},
    )
    return row


def check_specialties(codes: Any, *, field: str = "specialties") -> list[str]:
    """Known, active, distinct specialty codes (sorted)."""
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise _fail(field, N_("a list of specialty codes"))
    known = {s.code for s in list_specialties()}
    unknown = sorted(set(codes) - known)
    if unknown:
        raise _fail(field, N_("unknown or inactive specialties: %(value)s"), params={"value": ", ".join(unknown)})
    return sorted(set(codes))


# --- experts -----------------------------------------------------------------------------------------


def get_expert(expert_id: int) -> ExpertProfile:
    expert = db.session.get(ExpertProfile, expert_id) if 0 < expert_id < 2**31 else None
    if expert is None:
        raise NotFound(N_("No such expert."))
    return expert


def get_own_profile(user: User) -> ExpertProfile:
    expert: ExpertProfile | None = db.session.scalar(select(ExpertProfile).where(ExpertProfile.user_id == user.id))
    if expert is None:
        raise NotFound(N_("Your account has no expert profile."))
    return expert


def list_experts(*, specialty: str | None = None, status: str | None = None) -> list[ExpertProfile]:
    experts = list(db.session.scalars(select(ExpertProfile).order_by(ExpertProfile.id)))
    if specialty:
        experts = [e for e in experts if specialty in (e.specialties or [])]
    if status:
        experts = [e for e in experts if e.status.value == status]
    return experts


def _organisation(org_id: int | None, field: str) -> int | None:
    if org_id is None:
        return None
    if not 0 < org_id < 2**31 or db.session.get(Organisation, org_id) is None:
        raise _fail(field, N_("no such organisation"))
    return org_id


def _qualifications(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_QUALIFICATIONS:
        raise _fail(
            "qualifications",
            N_("a list of at most %(limit)s entries"),
            params={"limit": MAX_QUALIFICATIONS},
        )
    out = [str(v).strip() for v in value if isinstance(v, str) and v.strip()]
    if len(out) != len(value) or any(len(v) > 200 for v in out):
        raise _fail("qualifications", N_("each qualification is a non-empty text of at most 200 characters"))
    return out


def _profile_data(expert: ExpertProfile) -> dict[str, Any]:
    return {
        "user_id": expert.user_id,
        "employer_id": expert.employer_id,
        "region": expert.region,
        "specialties": list(expert.specialties),
        "qualifications": list(expert.qualifications),
        "available": expert.available,
    }


def create_expert(*, actor: User, data: dict[str, Any]) -> ExpertProfile:
    """Enrol a user with the expert role in the pool. Raises ValidationFailed, Conflict (already enrolled)."""
    user_id = data.get("user_id")
    user = db.session.get(User, user_id) if isinstance(user_id, int) and 0 < user_id < 2**31 else None
    if user is None:
        raise _fail("user_id", N_("no such user"))
    if not user.has_role("expert"):
        raise _fail("user_id", N_("only accounts with the expert role can join the pool"))
    if db.session.scalar(select(ExpertProfile.id).where(ExpertProfile.user_id == user.id)) is not None:
        raise Conflict(N_("This user is already in the expert pool."))
    expert = ExpertProfile(
        user_id=user.id,
        employer_id=_organisation(data.get("employer_id"), "employer_id"),
        region=str(data.get("region", "")).strip(),
        specialties=check_specialties(data.get("specialties", [])),
        qualifications=_qualifications(data.get("qualifications", [])),
        available=bool(data.get("available", True)),
        status=ExpertStatus.ACTIVE,
    )
    if not expert.specialties:
        raise _fail("specialties", N_("an expert has at least one specialty"))
    db.session.add(expert)
    db.session.flush()
    record("evaluation.expert.enrolled", actor=actor, subject=expert.audit_ref, data=_profile_data(expert))
    return expert


def update_expert(*, actor: User, expert: ExpertProfile, data: dict[str, Any]) -> ExpertProfile:
    """Change a profile's employer, region, specialties, qualifications or availability (all recorded)."""
    if "employer_id" in data:
        expert.employer_id = _organisation(data["employer_id"], "employer_id")
    if "region" in data:
        expert.region = str(data["region"]).strip()
    if "specialties" in data:
        expert.specialties = check_specialties(data["specialties"])
        if not expert.specialties:
            raise _fail("specialties", N_("an expert has at least one specialty"))
    if "qualifications" in data:
        expert.qualifications = _qualifications(data["qualifications"])
    if "available" in data:
        expert.available = bool(data["available"])
    db.session.flush()
    record("evaluation.expert.updated", actor=actor, subject=expert.audit_ref, data=_profile_data(expert))
    return expert


def set_availability(*, actor: User, available: bool) -> ExpertProfile:
    """An expert marks themselves (un)available for future draws."""
    expert = get_own_profile(actor)
    expert.available = available
    db.session.flush()
    record("evaluation.expert.availability", actor=actor, subject=expert.audit_ref, data={"available": available})
    return expert


def set_status(*, actor: User, expert: ExpertProfile, status: str, reason: str) -> ExpertProfile:
    """Activate, suspend or blacklist an expert; suspending and blacklisting need a reason."""
    try:
        value = ExpertStatus(status)
    except ValueError:
        raise _fail("status", N_("one of active, suspended, blacklisted")) from None
    reason = reason.strip()
    if value is not ExpertStatus.ACTIVE and not reason:
        raise _fail("reason", N_("give the reason for suspending or blacklisting"))
    previous = expert.status
    expert.status = value
    expert.status_reason = reason or None
    expert.status_changed_at = now_utc()
    db.session.flush()
    record(
        "evaluation.expert.status",
        actor=actor,
        subject=expert.audit_ref,
        data={"from": previous.value, "to": value.value, "reason": reason},
    )
    return expert


def declare_relationship(*, actor: User, expert: ExpertProfile, organisation_id: int, note: str) -> ExpertRelationship:
    """Record an organisation the expert must never judge; declaring it twice keeps the first. Never removed here."""
    org_id = _organisation(organisation_id, "organisation_id")
    existing: ExpertRelationship | None = db.session.scalar(
        select(ExpertRelationship).where(
            ExpertRelationship.expert_id == expert.id, ExpertRelationship.organisation_id == org_id
        )
    )
    if existing is not None:
        return existing
    rel = ExpertRelationship(
        expert_id=expert.id,
        organisation_id=org_id,
        note=note.strip(),
        declared_at=now_utc(),
        declared_by=actor.audit_ref,
    )
    db.session.add(rel)
    db.session.flush()
    record(
        "evaluation.expert.relationship",
        actor=actor,
        subject=expert.audit_ref,
        data={"organisation_id": org_id, "note": rel.note},
    )
    return rel


def pool_for_draw() -> list[PoolExpert]:
    """Every expert of the pool as the draw sees them (no names)."""
    rels: dict[int, list[int]] = {}
    for expert_id, org_id in db.session.execute(
        select(ExpertRelationship.expert_id, ExpertRelationship.organisation_id)
    ):
        rels.setdefault(expert_id, []).append(org_id)
    return [
        PoolExpert(
            id=e.id,
            employer_id=e.employer_id,
            specialties=tuple(e.specialties or ()),
            region=e.region,
            status=e.status.value,
            available=bool(e.available) and bool(e.user.active),
            related_org_ids=tuple(rels.get(e.id, ())),
        )
        for e in db.session.scalars(select(ExpertProfile).order_by(ExpertProfile.id))
    ]
