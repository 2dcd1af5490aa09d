"""Every endpoint of every module × every seeded role (and anonymous): allowed or refused, as the table says.

An endpoint missing from EXPECTED fails the test: a module that adds routes adds its rows here.
Only "allowed vs refused by the permission layer" is checked: an allowed caller may still get 404 or 422
for the placeholder URL values, a refused one gets 401 (anonymous) or 403 (signed in, lacking permission).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from app.accounts.permissions import SEEDED_ROLES
from app.core.errors import is_api_path
from tests.accounts.helpers import compile_translations, csrf, login, make_user
from tests.convenience.household.matrix import HOUSEHOLD_EXPECTED
from tests.convenience.interaction.matrix import INTERACTION_EXPECTED
from tests.convenience.matrix import CONVENIENCE_EXPECTED
from tests.convenience.rating.matrix import RATING_EXPECTED
from tests.evaluation.matrix_award_pages import AWARD_PAGES_EXPECTED
from tests.evaluation.matrix_committee_pages import COMMITTEE_PAGES_EXPECTED
from tests.evaluation.matrix_pages import EVALUATION_PAGES_EXPECTED
from tests.permits.certificates.matrix_certificates import CERTIFICATES_PUBLIC, PERMITS_CERTIFICATES_EXPECTED
from tests.permits.fees.matrix import PERMITS_FEES_BUNDLE_EXPECTED
from tests.permits.matrix_calendar import PERMITS_CALENDAR_EXPECTED
from tests.permits.matrix_cases import PERMITS_CASES_EXPECTED
from tests.publication.matrix import OCDS_EXPECTED
from tests.publication.portal.matrix import PORTAL_EXPECTED
from tests.sealing.matrix_sealing import SEALING_PUBLIC
from tests.supervision.matrix import SUPERVISION_EXPECTED, SUPERVISION_PUBLIC
from tests.tendering.matrix import TENDERING_EXPECTED
from tests.tendering.matrix_agency import AGENCY_PAGES_EXPECTED

# The permission layer decides from the roles and the route, never from the database engine: once, on SQLite.
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)

ROLES = tuple(SEEDED_ROLES)
ANONYMOUS = "anonymous"
EVERYONE = frozenset((ANONYMOUS, *ROLES))
SIGNED_IN = frozenset(ROLES)
SELF = frozenset(ROLES)  # accounts.self: every seeded role
ADMIN = frozenset({"admin"})
AUDIT_READ = frozenset({"admin", "auditor", "supervisor"})
REC_OPERATE = frozenset({"admin", "agency"})
REC_GRANT = frozenset({"auditor"})

EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    # core shell
    ("GET", "core.index"): EVERYONE,
    ("POST", "core.set_language"): EVERYONE,
    ("GET", "core.healthz"): EVERYONE,
    ("GET", "core.problem_types"): EVERYONE,
    ("GET", "core.problem_type"): EVERYONE,
    ("GET", "api-docs.openapi_json"): EVERYONE,
    ("GET", "storage.download"): EVERYONE,  # the signed URL is the credential
    ("GET", "platform_keys.keys"): EVERYONE,
    ("GET", "well_known_keys.well_known_keys"): EVERYONE,
    # accounts: sign-in and own account
    ("GET", "accounts.login"): EVERYONE,
    ("POST", "accounts.login"): EVERYONE,
    ("GET", "accounts.login_totp"): EVERYONE,
    ("POST", "accounts.login_totp"): EVERYONE,
    ("POST", "accounts.logout"): SIGNED_IN,
    ("GET", "accounts.account"): SELF,
    ("POST", "accounts.update_profile"): SELF,
    ("POST", "accounts.change_password"): SELF,
    ("POST", "accounts.create_token"): SELF,
    ("POST", "accounts.revoke_token"): SELF,
    ("GET", "accounts.totp_setup"): SIGNED_IN,
    ("POST", "accounts.totp_setup"): SIGNED_IN,
    # accounts: administration
    ("GET", "accounts.admin_users"): ADMIN,
    ("GET", "accounts.admin_user_new"): ADMIN,
    ("POST", "accounts.admin_user_new"): ADMIN,
    ("GET", "accounts.admin_user"): ADMIN,
    ("POST", "accounts.admin_user"): ADMIN,
    ("POST", "accounts.admin_user_activate"): ADMIN,
    ("POST", "accounts.admin_user_deactivate"): ADMIN,
    ("POST", "accounts.admin_user_unlock"): ADMIN,
    ("POST", "accounts.admin_user_reset_totp"): ADMIN,
    ("POST", "accounts.admin_user_reset_password"): ADMIN,
    ("GET", "accounts.admin_organisations"): ADMIN,
    ("POST", "accounts.admin_organisations"): ADMIN,
    ("GET", "accounts.admin_roles"): ADMIN,
    ("GET", "accounts.admin_role"): ADMIN,
    ("POST", "accounts.admin_role"): ADMIN,
    # accounts API
    ("POST", "accounts-api.create_token"): EVERYONE,
    ("GET", "accounts-api.list_tokens"): SELF,
    ("DELETE", "accounts-api.revoke_token"): SELF,
    ("GET", "accounts-api.me"): SIGNED_IN,
    ("PATCH", "accounts-api.update_me"): SELF,
    ("POST", "accounts-api.change_my_password"): SELF,
    ("POST", "accounts-api.begin_own_totp"): SIGNED_IN,
    ("POST", "accounts-api.confirm_own_totp"): SIGNED_IN,
    ("POST", "accounts-api.begin_totp_with_password"): EVERYONE,  # the credentials are in the body
    ("POST", "accounts-api.confirm_totp_with_password"): EVERYONE,
    # administration API: the organisation directory is also for agencies (a tender names its buyer)
    ("GET", "accounts-admin-api.list_organisations"): frozenset({"admin", "agency"}),
    ("GET", "accounts-admin-api.get_organisation"): frozenset({"admin", "agency"}),
    ("POST", "accounts-admin-api.create_organisation"): ADMIN,
    ("PATCH", "accounts-admin-api.update_organisation"): ADMIN,
    ("POST", "accounts-admin-api.deactivate_organisation"): ADMIN,
    ("POST", "accounts-admin-api.activate_organisation"): ADMIN,
    ("GET", "accounts-admin-api.list_users"): ADMIN,
    ("GET", "accounts-admin-api.get_user"): ADMIN,
    ("POST", "accounts-admin-api.create_user"): ADMIN,
    ("PATCH", "accounts-admin-api.update_user"): ADMIN,
    ("PUT", "accounts-admin-api.set_user_roles"): ADMIN,
    ("POST", "accounts-admin-api.assign_role"): ADMIN,
    ("DELETE", "accounts-admin-api.remove_role"): ADMIN,
    ("POST", "accounts-admin-api.deactivate_user"): ADMIN,
    ("POST", "accounts-admin-api.activate_user"): ADMIN,
    ("POST", "accounts-admin-api.unlock_user"): ADMIN,
    ("POST", "accounts-admin-api.reset_user_totp"): ADMIN,
    ("POST", "accounts-admin-api.reset_user_password"): ADMIN,
    ("GET", "accounts-admin-api.list_roles"): ADMIN,
    ("GET", "accounts-admin-api.get_role"): ADMIN,
    ("PATCH", "accounts-admin-api.update_role"): ADMIN,
    ("GET", "accounts-admin-api.list_permissions"): ADMIN,
    # audit (evidence log): checkpoints and consistency proofs are public, entries are not
    ("GET", "audit.latest_checkpoint"): EVERYONE,
    ("GET", "audit.checkpoint"): EVERYONE,
    ("GET", "audit.consistency"): EVERYONE,
    ("GET", "audit.entry"): AUDIT_READ,
    ("GET", "audit.export"): AUDIT_READ,
    # the evidence-log explorer pages
    ("GET", "audit_pages.log"): AUDIT_READ,
    ("GET", "audit_pages.entry"): AUDIT_READ,
    ("GET", "audit_pages.export"): AUDIT_READ,
    # recordings: signed-in callers reach the pages; which sessions they may replay is the service's
    # check (auditors, supervisors and whom an auditor granted), tested in tests/recordings/
    ("GET", "recordings.index"): SIGNED_IN,
    ("GET", "recordings.replay"): SIGNED_IN,
    ("GET", "recordings.playlist"): SIGNED_IN,
    ("GET", "recordings.media"): SIGNED_IN,
    ("POST", "recordings.export_range"): SIGNED_IN,
    ("GET", "recordings.download_export"): SIGNED_IN,
    ("POST", "recordings.start_room"): REC_OPERATE,
    ("POST", "recordings.stop_room"): REC_OPERATE,
    ("POST", "recordings.grant"): REC_GRANT,
    ("POST", "recordings.revoke"): REC_GRANT,
    ("GET", "recordings-api.list_rooms"): REC_OPERATE,
    ("POST", "recordings-api.create_room"): ADMIN,
    ("POST", "recordings-api.start_room"): REC_OPERATE,
    ("POST", "recordings-api.stop_room"): REC_OPERATE,
    ("POST", "recordings-api.create_schedule"): REC_OPERATE,
    ("DELETE", "recordings-api.cancel_schedule"): REC_OPERATE,
    ("GET", "recordings-api.list_sessions"): SIGNED_IN,
    ("GET", "recordings-api.get_session"): SIGNED_IN,
    ("GET", "recordings-api.integrity"): SIGNED_IN,
    ("GET", "recordings-api.events"): SIGNED_IN,
    ("POST", "recordings-api.create_export"): SIGNED_IN,
    ("GET", "recordings-api.get_export"): SIGNED_IN,
    ("POST", "recordings-api.create_grant"): REC_GRANT,
    ("DELETE", "recordings-api.revoke_grant"): REC_GRANT,
    # permits: the public guide and its read-only API
    ("GET", "permits.guide"): EVERYONE,
    ("GET", "permits.item_page"): EVERYONE,
    ("GET", "permits.catalogue_file"): EVERYONE,
    ("GET", "permits_catalogue_admin.admin_catalogue"): frozenset({"admin"}),
    ("POST", "permits_catalogue_admin.admin_catalogue_upload"): frozenset({"admin"}),
    ("GET", "permits-catalogue-api.list_departments"): EVERYONE,
    ("GET", "permits-catalogue-api.list_items"): EVERYONE,
    ("GET", "permits-catalogue-api.get_item"): EVERYONE,
}

EXPECTED.update(TENDERING_EXPECTED)
EXPECTED.update(CONVENIENCE_EXPECTED)
EXPECTED.update(RATING_EXPECTED)
EXPECTED.update(INTERACTION_EXPECTED)
EXPECTED.update(HOUSEHOLD_EXPECTED)
EXPECTED.update(OCDS_EXPECTED)
EXPECTED.update(PORTAL_EXPECTED)
EXPECTED.update(SUPERVISION_EXPECTED)
EXPECTED.update(AGENCY_PAGES_EXPECTED)
EXPECTED.update(EVALUATION_PAGES_EXPECTED)
EXPECTED.update(AWARD_PAGES_EXPECTED)
EXPECTED.update(COMMITTEE_PAGES_EXPECTED)
EXPECTED.update(PERMITS_CALENDAR_EXPECTED)
EXPECTED.update(PERMITS_CASES_EXPECTED)
EXPECTED.update(PERMITS_FEES_BUNDLE_EXPECTED)
EXPECTED.update(dict.fromkeys(SEALING_PUBLIC, EVERYONE))
EXPECTED.update(dict.fromkeys(CERTIFICATES_PUBLIC, EVERYONE))
EXPECTED.update(dict.fromkeys(SUPERVISION_PUBLIC, EVERYONE))
EXPECTED.update(PERMITS_CERTIFICATES_EXPECTED)
EVAL_POOL = frozenset({"admin"})
EVAL_RUN = frozenset({"agency"})
EXPECTED.update(
    {
        # evaluation: expert pool, committee, draw, declarations (membership is checked per object)
        ("GET", "evaluation-api.list_specialties"): SIGNED_IN,
        ("POST", "evaluation-api.save_specialty"): EVAL_POOL,
        ("GET", "evaluation-api.list_experts"): EVAL_POOL,
        ("POST", "evaluation-api.create_expert"): EVAL_POOL,
        ("GET", "evaluation-api.own_profile"): SIGNED_IN,
        ("PATCH", "evaluation-api.set_availability"): SIGNED_IN,
        ("POST", "evaluation-api.declare_own_relationship"): SIGNED_IN,
        ("GET", "evaluation-api.get_expert"): EVAL_POOL,
        ("PATCH", "evaluation-api.update_expert"): EVAL_POOL,
        ("POST", "evaluation-api.set_expert_status"): EVAL_POOL,
        ("POST", "evaluation-api.declare_relationship"): EVAL_POOL,
        ("PUT", "evaluation-api.define_committee"): EVAL_RUN,
        ("GET", "evaluation-api.get_committee"): SIGNED_IN,
        ("POST", "evaluation-api.appoint_buyer_rep"): EVAL_RUN,
        ("POST", "evaluation-api.commit_draw"): EVAL_RUN,
        ("POST", "evaluation-api.perform_draw"): EVAL_RUN,
        ("GET", "evaluation-api.draw_record"): SIGNED_IN,
        ("POST", "evaluation-api.release_seat"): EVAL_RUN,
        ("POST", "evaluation-api.confirm"): SIGNED_IN,
        ("POST", "evaluation-api.decline"): SIGNED_IN,
        ("POST", "evaluation-api.declare"): SIGNED_IN,
        ("GET", "evaluation-api.my_invitations"): SIGNED_IN,
    }
)

EXPECTED.update(
    {
        # evaluation room: membership, chair and stage are checked per object in the services
        ("POST", "evaluation-room.open_room"): EVAL_RUN,
        ("GET", "evaluation-room.room_status"): SIGNED_IN,
        ("GET", "evaluation-room.room_events"): SIGNED_IN,
        ("GET", "evaluation-room.chair_ballot"): SIGNED_IN,
        ("POST", "evaluation-room.vote_chair"): SIGNED_IN,
        ("POST", "evaluation-room.appoint_chair"): EVAL_RUN,
        ("GET", "evaluation-room.room_bids"): SIGNED_IN,
        ("GET", "evaluation-room.download_opened"): SIGNED_IN,
        ("GET", "evaluation-room.own_review"): SIGNED_IN,
        ("PUT", "evaluation-room.save_review"): SIGNED_IN,
        ("POST", "evaluation-room.submit_review"): SIGNED_IN,
        ("POST", "evaluation-room.close_review"): SIGNED_IN,
        ("POST", "evaluation-room.advance"): EVAL_RUN,
        ("GET", "evaluation-room.own_sheets"): SIGNED_IN,
        ("PUT", "evaluation-room.save_sheet"): SIGNED_IN,
        ("POST", "evaluation-room.submit_sheet"): SIGNED_IN,
        ("POST", "evaluation-room.correct_sheet"): SIGNED_IN,
        ("POST", "evaluation-room.aggregate"): SIGNED_IN,
        ("GET", "evaluation-room.result"): SIGNED_IN,
        # clarifications: the chair and the members are checked per object; the bidder's side needs tendering.bid
        ("POST", "evaluation-clarifications.request_clarification"): SIGNED_IN,
        ("GET", "evaluation-clarifications.room_clarifications"): SIGNED_IN,
        ("GET", "evaluation-clarifications.answer_file"): SIGNED_IN,
        ("GET", "evaluation-clarifications.my_clarifications"): frozenset({"bidder"}),
        ("POST", "evaluation-clarifications.answer_clarification"): frozenset({"bidder"}),
        # evaluation report, publicity, objections, award: chair, members and bidders are checked per object
        ("POST", "evaluation-report.draw_up"): SIGNED_IN,
        ("GET", "evaluation-report.get_report"): SIGNED_IN,
        ("GET", "evaluation-report.report_pdf"): SIGNED_IN,
        ("POST", "evaluation-report.sign_report"): SIGNED_IN,
        ("POST", "evaluation-report.publish"): EVAL_RUN,
        ("GET", "evaluation-report.list_publicity"): EVERYONE,
        ("POST", "evaluation-report.file_objection"): SIGNED_IN,
        ("GET", "evaluation-report.list_objections"): SIGNED_IN,
        ("POST", "evaluation-report.answer_objection"): EVAL_RUN,
        ("POST", "evaluation-report.reassign_award"): EVAL_RUN,
        ("POST", "evaluation-report.issue_award"): EVAL_RUN,
        ("GET", "evaluation-report.get_award"): SIGNED_IN,
    }
)

# Requests that end the caller's session run last.
SESSION_ENDING = {("POST", "accounts.logout")}

LAYER_REFUSALS = (
    "Your account lacks the permission",
    "This endpoint is not open to anybody",
    "Set up two-step verification",
    "The token's scopes do not cover",
)


def _routes(app: Flask) -> list[tuple[str, Rule]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, rule))
    return sorted(out, key=lambda mr: ((mr[0], mr[1].endpoint) in SESSION_ENDING, mr[1].rule, mr[0]))


def _url(rule: Rule) -> str:
    values: dict[str, Any] = {}
    for arg in rule.arguments:
        converter = rule._converters[arg]  # the only way to know a converter type
        name = type(converter).__name__
        if name == "AnyConverter":
            values[arg] = sorted(converter.items)[0]
        else:
            values[arg] = 999999 if name in {"IntegerConverter", "FloatConverter"} else "placeholder"
    _domain, url = rule.build(values, append_unknown=False)
    return url.split("|", 1)[-1]


def _refused_by_layer(resp: Any) -> bool:
    if resp.status_code == 401:
        return True
    if resp.status_code != 403:
        return False
    body = resp.get_json(silent=True) or {}
    return str(body.get("detail", "")).startswith(LAYER_REFUSALS)


def test_table_covers_every_endpoint(app: Flask) -> None:
    present = {(m, r.endpoint) for m, r in _routes(app)}
    missing = sorted(present - set(EXPECTED))
    stale = sorted(set(EXPECTED) - present)
    assert missing == [], f"add these endpoints to EXPECTED in {__file__}: {missing}"
    assert stale == [], f"these rows name endpoints that no longer exist: {stale}"


@pytest.mark.parametrize("caller", [ANONYMOUS, *ROLES])
def test_permission_matrix(app: Flask, clock: Any, caller: str) -> None:
    compile_translations()
    client = app.test_client()
    if caller != ANONYMOUS:
        _uid, secret = make_user(app, f"matrix-{caller}", [caller], totp=SEEDED_ROLES[caller][2])
        resp = login(client, f"matrix-{caller}", totp_secret=secret)
        assert resp.status_code == 303, resp.get_data(as_text=True)
    token = csrf(client)
    wrong = []
    for method, rule in _routes(app):
        key = (method, rule.endpoint)
        if key not in EXPECTED:
            continue  # reported by test_table_covers_every_endpoint
        headers = {"Accept": "application/json", "X-CSRFToken": token}
        kwargs: dict[str, Any] = {"headers": headers}
        if method in {"POST", "PUT", "PATCH", "DELETE"} and is_api_path(rule.rule):
            kwargs["json"] = {}
        resp = client.open(_url(rule), method=method, **kwargs)
        assert resp.status_code < 500, f"{method} {rule.rule} as {caller}: {resp.status_code}"
        allowed = not _refused_by_layer(resp)
        if allowed != (caller in EXPECTED[key]):
            wrong.append(f"{method} {rule.rule} ({rule.endpoint}) as {caller}: {resp.status_code}")
    assert wrong == []


# --- route × scope: a token does only what its scopes cover ---------------------------------------------------

SCOPE_REFUSAL = "The token's scopes do not cover"
# A scope unrelated to the route (the first of these that covers none of the route's scopes).
UNRELATED = ("accounts.self", "audit.read")


def _api_routes(app: Flask) -> list[tuple[str, Rule, tuple[str, ...]]]:
    """Every API route a token can call, with the scopes it declares (any one of them is enough)."""
    from app.core.security import declared_scopes

    out = []
    for method, rule in _routes(app):
        if not is_api_path(rule.rule):
            continue
        scopes = declared_scopes(app, rule.endpoint, method)
        if scopes:  # @public: no token needed, nothing to restrict
            out.append((method, rule, scopes))
    return out


def test_every_api_route_names_the_scopes_a_token_needs(app: Flask) -> None:
    """A bare `@authenticated` would need '*': every API operation says which scope reaches it."""
    from app.accounts import permissions as perms

    vague = [f"{m} {r.rule}" for m, r, scopes in _api_routes(app) if "*" in scopes]
    assert vague == []
    unknown = [(m, r.rule, s) for m, r, scopes in _api_routes(app) for s in scopes if not perms.scope_is_valid(s)]
    assert unknown == []


def _scoped_token(app: Flask, user_id: int, scopes: list[str]) -> str:
    from app.accounts import services_tokens
    from app.accounts.models import User
    from app.extensions import db

    with app.app_context():
        user = db.session.get(User, user_id)
        _row, text = services_tokens.create_token(user=user, name="matrix", scopes=scopes, expires_in_days=1)
        db.session.commit()
        return text


def _audit_denials(app: Flask) -> list[tuple[str | None, dict[str, Any]]]:
    from sqlalchemy import select

    from app.audit.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        rows = db.session.execute(
            select(AuditEntry.subject, AuditEntry.data).where(AuditEntry.action == "access.denied")
        ).all()
        db.session.rollback()
        return [(s, dict(d or {})) for s, d in rows]


def test_route_by_scope(app: Flask, clock: Any) -> None:
    """For every API route: a token scoped to something unrelated is refused (403, `access.denied`), and a token
    with exactly one of the route's scopes passes the permission layer. The caller holds every seeded role, so
    only the scope decides."""
    compile_translations()
    uid, _secret = make_user(app, "matrix-all", list(ROLES), totp=True)
    client = app.test_client(use_cookies=False)
    tokens: dict[str, str] = {}

    def token(scope: str) -> str:
        if scope not in tokens:
            tokens[scope] = _scoped_token(app, uid, [scope])
        return tokens[scope]

    wrong, refused = [], []
    for method, rule, scopes in _api_routes(app):
        kwargs: dict[str, Any] = {}
        if method in {"POST", "PUT", "PATCH", "DELETE"}:
            kwargs["json"] = {}
        unrelated = next(u for u in UNRELATED if u not in scopes)
        resp = client.open(_url(rule), method=method, headers={"Authorization": f"Bearer {token(unrelated)}"}, **kwargs)
        body = resp.get_json(silent=True)
        detail = str(body.get("detail", "")) if isinstance(body, dict) else ""
        if resp.status_code != 403 or not detail.startswith(SCOPE_REFUSAL):
            wrong.append(f"{method} {rule.rule} with [{unrelated}]: {resp.status_code} (should be refused)")
        else:
            refused.append(rule.endpoint)
        for scope in scopes:
            resp = client.open(_url(rule), method=method, headers={"Authorization": f"Bearer {token(scope)}"}, **kwargs)
            assert resp.status_code < 500, f"{method} {rule.rule} with [{scope}]: {resp.status_code}"
            if _refused_by_layer(resp):
                wrong.append(f"{method} {rule.rule} with [{scope}]: {resp.status_code} (should be allowed)")
    assert wrong == []
    # every refusal is evidence, naming the route and the scopes it needed
    denials = [(s, d) for s, d in _audit_denials(app) if str(d.get("permission", "")).startswith("scope:")]
    assert sorted(s for s, _d in denials) == sorted(refused)
    assert len(refused) > 50
