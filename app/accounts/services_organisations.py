"""Organisations: the center, agencies and bidders, with their unified social credit codes (USCC)."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.common import N_, Actor, get_row
from app.accounts.models import USCC_REQUIRED_KINDS, Organisation, OrganisationKind
from app.accounts.uscc import InvalidUSCC, parse_uscc
from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, ValidationFailed
from app.core.time import now_utc


def list_organisations() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).order_by(Organisation.name)))


def get_organisation(org_id: int) -> Organisation:
    return get_row(Organisation, org_id, N_("No such organisation."))


def create_organisation(*, actor: Actor, name: str, kind: str, uscc: str | None) -> Organisation:
    """Create an organisation; bidders and agencies need a valid unified social credit code."""
    try:
        kind_value = OrganisationKind(kind)
    except ValueError:
        raise ValidationFailed(N_("Unknown organisation kind."), errors={"kind": ["invalid"]}) from None
    name = name.strip()
    if not name:
        raise ValidationFailed(N_("A name is required."), errors={"name": ["required"]})
    code: str | None = None
    if uscc and uscc.strip():
        try:
            code = parse_uscc(uscc).code
        except InvalidUSCC as exc:
            raise ValidationFailed(str(exc), errors={"uscc": [exc.reason]}) from None
    elif kind_value in USCC_REQUIRED_KINDS:
        raise ValidationFailed(
            N_("A unified social credit code is required for this kind."), errors={"uscc": ["required"]}
        )
    if db.session.scalar(select(Organisation.id).where(Organisation.name == name)) is not None:
        raise Conflict(N_("An organisation with that name exists."))
    if code and db.session.scalar(select(Organisation.id).where(Organisation.uscc == code)) is not None:
        raise Conflict(N_("An organisation with that unified social credit code exists."))
    org = Organisation(name=name, kind=kind_value, uscc=code, created_at=now_utc())
    db.session.add(org)
    db.session.flush()
    record(
        "accounts.organisation_created",
        actor=actor,
        subject=org.audit_ref,
        data={"name": name, "kind": kind_value.value, "uscc": code},
    )
    return org
