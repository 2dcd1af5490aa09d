"""Demo accounts for `make run` and `flask accounts seed-demo`: one user per seeded role, random passwords."""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounts import permissions as perms
from app.accounts.models import Organisation, OrganisationKind, User
from app.accounts.services_organisations import create_organisation
from app.accounts.services_passwords import generate_password
from app.accounts.services_users import create_user
from app.accounts.uscc import make_uscc
from app.core.db import db
from app.core.reference import demo

DEMO_ORGANISATIONS = [
    # name, kind, USCC (synthetic but valid; division 130400 is Handan)
    ("邯郸市行政服务中心", OrganisationKind.CENTER, make_uscc("1", "1", "130400", "MB1A0001")),
    ("邯郸示范招标代理有限公司", OrganisationKind.AGENCY, make_uscc("9", "1", "130400", "MA0DEM01")),
    ("邯郸示范建设工程有限公司", OrganisationKind.BIDDER, make_uscc("9", "1", "130400", "MA0DEM02")),
]
DEMO_ROLE_ORG = {
    "admin": 0,
    "agency": 1,
    "bidder": 2,
    "expert": None,
    "auditor": 0,
    "supervisor": 0,
}


def seed_demo_accounts() -> list[tuple[str, str, str]]:
    """When there are no users: one account per seeded role with a random password (flushes).

    Returns (username, role, password) triples for the operator to see once.
    """
    if db.session.scalar(select(func.count(User.id))):
        return []
    orgs = []
    for name, kind, code in DEMO_ORGANISATIONS:
        org = db.session.scalar(select(Organisation).where(Organisation.name == name))
        orgs.append(org or create_organisation(actor="system", name=name, kind=kind.value, uscc=code))
    created = []
    for role in perms.SEEDED_ROLES:
        password = generate_password()
        index = DEMO_ROLE_ORG.get(role)
        label_en, label_zh, _totp = perms.SEEDED_ROLES[role]
        create_user(
            actor="system",
            username=role,
            display_name=f"{label_zh} ({label_en})",
            password=password,
            roles=[role],
            organisation_id=orgs[index].id if index is not None else None,
        )
        created.append((role, role, password))
    return created


def demo_lines(created: list[tuple[str, str, str]]) -> list[str]:
    """How the demo accounts are printed, by `make run` and by the CLI alike."""
    return [f"{username:<12} role={role:<11} password={password}" for username, role, password in created]


@demo("accounts.users")
def _demo_lines() -> list[str]:
    return demo_lines(seed_demo_accounts())
