"""JSON API of platform administration: organisations, users, roles (flask-smorest, documented).

Each operation calls the service the administration pages call, so both write the same evidence-log entries.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, request
from flask_smorest import Blueprint
from marshmallow import validate

from app.accounts import permissions as perms
from app.accounts import (
    services_login,
    services_organisations,
    services_passwords,
    services_roles,
    services_totp,
    services_users,
)
from app.accounts.api import OrganisationOut, PlainText
from app.accounts.models import Organisation, OrganisationKind, Role, User
from app.core.api import problem_responses as core_problem_responses
from app.core.fields import Instant, Integer, QueryInteger
from app.core.pages import me
from app.core.security import requires

blp = Blueprint(
    "accounts-admin-api",
    __name__,
    url_prefix="/api/v1",
    description="Administration: organisations (the directory agencies pick a buyer from), users, roles.",
)

ID = validate.Range(min=1, max=2**31 - 1)
NO_STORE = {"Cache-Control": "no-store"}


def problem_responses(*statuses: int) -> Any:
    return core_problem_responses(blp, *statuses)


def _ip() -> str:
    return request.remote_addr or "-"


class PageArgs(ma.Schema):
    page = QueryInteger(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = QueryInteger(load_default=20, validate=validate.Range(min=1, max=100))


def _page(rows: list[Any], total: int, args: dict[str, Any], view: Any = None) -> dict[str, Any]:
    items = [view(r) for r in rows] if view else rows
    return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


# --- organisations -----------------------------------------------------------------------------------

KINDS = [k.value for k in OrganisationKind]


class OrganisationDetail(OrganisationOut):
    active = ma.fields.Boolean(required=True)
    created_at = Instant(required=True)


class OrganisationPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(OrganisationDetail), required=True)
    total = Integer(required=True)
    page = Integer(required=True)
    per_page = Integer(required=True)


class OrganisationListArgs(PageArgs):
    kind = ma.fields.String(validate=validate.OneOf(KINDS))
    name = PlainText(validate=validate.Length(max=200), metadata={"description": "A part of the name"})
    active = ma.fields.Boolean(
        load_default=True, metadata={"description": "true (default): active ones; false: deactivated ones"}
    )


class OrganisationCreateArgs(ma.Schema):
    name = PlainText(required=True, validate=validate.Length(min=1, max=200))
    kind = ma.fields.String(required=True, validate=validate.OneOf(KINDS))
    uscc = PlainText(
        allow_none=True,
        validate=validate.Length(max=30),
        metadata={"description": "Unified social credit code (18 characters); required for bidders and agencies"},
    )


class OrganisationUpdateArgs(ma.Schema):
    name = PlainText(validate=validate.Length(min=1, max=200))
    kind = ma.fields.String(validate=validate.OneOf(KINDS))
    uscc = PlainText(allow_none=True, validate=validate.Length(max=30))


@blp.route("/organisations", methods=["GET"])
@blp.arguments(OrganisationListArgs, location="query")
@blp.response(200, OrganisationPage)
@problem_responses(401, 403, 422)
@requires(perms.ORGANISATIONS_READ)
def list_organisations(args: dict[str, Any]) -> Any:
    """The organisation directory by name, e.g. `?kind=buyer&name=医院` to find a tender's `buyer_id`."""
    rows, total = services_organisations.search_organisations(
        kind=args.get("kind"),
        name=args.get("name"),
        active=args["active"],
        page=args["page"],
        per_page=args["per_page"],
    )
    return _page(rows, total, args)


@blp.route("/organisations/<int:org_id>", methods=["GET"])
@blp.response(200, OrganisationDetail)
@problem_responses(401, 403, 404)
@requires(perms.ORGANISATIONS_READ)
def get_organisation(org_id: int) -> Any:
    return services_organisations.get_organisation(org_id)


@blp.route("/organisations", methods=["POST"])
@blp.arguments(OrganisationCreateArgs)
@blp.response(201, OrganisationDetail)
@problem_responses(401, 403, 409, 422)
@requires(perms.ACCOUNTS_ADMIN)
def create_organisation(args: dict[str, Any]) -> Any:
    """Create an organisation (the USCC is checked, its check characters included)."""
    org = services_organisations.create_organisation(
        actor=me(), name=args["name"], kind=args["kind"], uscc=args.get("uscc")
    )
    return org


@blp.route("/organisations/<int:org_id>", methods=["PATCH"])
@blp.arguments(OrganisationUpdateArgs)
@blp.response(200, OrganisationDetail)
@problem_responses(401, 403, 404, 409, 422)
@requires(perms.ACCOUNTS_ADMIN)
def update_organisation(args: dict[str, Any], org_id: int) -> Any:
    """Change the name, kind or code; the fields left out stay as they are."""
    org = services_organisations.get_organisation(org_id)
    services_organisations.update_organisation(actor=me(), org=org, **args)
    return org


def _set_org_active(org_id: int, active: bool) -> Organisation:
    org = services_organisations.get_organisation(org_id)
    services_organisations.set_organisation_active(actor=me(), org=org, active=active)
    return org


@blp.route("/organisations/<int:org_id>/deactivate", methods=["POST"])
@blp.response(200, OrganisationDetail)
@problem_responses(401, 403, 404)
@requires(perms.ACCOUNTS_ADMIN)
def deactivate_organisation(org_id: int) -> Any:
    """No new users, and no new tenders naming it as buyer; its users keep their accounts."""
    return _set_org_active(org_id, False)


@blp.route("/organisations/<int:org_id>/activate", methods=["POST"])
@blp.response(200, OrganisationDetail)
@problem_responses(401, 403, 404)
@requires(perms.ACCOUNTS_ADMIN)
def activate_organisation(org_id: int) -> Any:
    return _set_org_active(org_id, True)


# --- users -------------------------------------------------------------------------------------------


class UserOut(ma.Schema):
    id = Integer(required=True)
    username = ma.fields.String(required=True)
    display_name = ma.fields.String(required=True)
    email = ma.fields.String(allow_none=True, required=True)
    phone = ma.fields.String(allow_none=True, required=True)
    organisation = ma.fields.Nested(OrganisationDetail, allow_none=True, required=True)
    roles = ma.fields.List(ma.fields.String(), required=True)
    active = ma.fields.Boolean(required=True)
    totp_enabled = ma.fields.Boolean(required=True)
    totp_required = ma.fields.Boolean(required=True)
    created_at = Instant(required=True)
    locked_until = Instant(
        allow_none=True, required=True, metadata={"description": "Sign-in lockout after failed attempts"}
    )


class UserCreated(UserOut):
    password = ma.fields.String(
        allow_none=True, required=True, metadata={"description": "The generated password, shown only this once"}
    )


class UserPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(UserOut), required=True)
    total = Integer(required=True)
    page = Integer(required=True)
    per_page = Integer(required=True)


RoleName = PlainText(validate=validate.Length(min=1, max=50))


class UserListArgs(PageArgs):
    q = PlainText(validate=validate.Length(max=120), metadata={"description": "A part of the user or display name"})
    role = PlainText(validate=validate.Length(min=1, max=50))
    organisation_id = QueryInteger(validate=ID)
    active = ma.fields.Boolean()


class UserEditArgs(ma.Schema):
    display_name = PlainText(validate=validate.Length(min=1, max=120))
    email = ma.fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = PlainText(allow_none=True, validate=validate.Length(max=32))
    organisation_id = Integer(allow_none=True, validate=ID)
    roles = ma.fields.List(PlainText(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=20))


class UserCreateArgs(UserEditArgs):
    username = PlainText(required=True, validate=validate.Length(min=2, max=64))
    roles = ma.fields.List(
        PlainText(validate=validate.Length(min=1, max=50)), required=True, validate=validate.Length(max=20)
    )
    password = ma.fields.String(
        validate=validate.Length(min=1, max=256), metadata={"description": "Leave out to have one generated"}
    )


class RolesArgs(ma.Schema):
    roles = ma.fields.List(
        PlainText(validate=validate.Length(min=1, max=50)), required=True, validate=validate.Length(max=20)
    )


class RoleArgs(ma.Schema):
    role = PlainText(required=True, validate=validate.Length(min=1, max=50))


class ResetPasswordArgs(ma.Schema):
    password = ma.fields.String(
        validate=validate.Length(min=1, max=256), metadata={"description": "Leave out to have one generated"}
    )


class PasswordOut(ma.Schema):
    password = ma.fields.String(required=True, metadata={"description": "The new password, shown only this once"})


def user_view(user: User) -> dict[str, Any]:
    fields = ("id", "username", "display_name", "email", "phone", "organisation", "active", "totp_enabled")
    return {
        **{f: getattr(user, f) for f in fields},
        "roles": [r.name for r in user.roles],
        "totp_required": user.totp_required,
        "created_at": user.created_at,
        "locked_until": services_login.locked_until(user.username),
    }


@blp.route("/users", methods=["GET"])
@blp.arguments(UserListArgs, location="query")
@blp.response(200, UserPage)
@problem_responses(401, 403, 422)
@requires(perms.ACCOUNTS_ADMIN)
def list_users(args: dict[str, Any]) -> Any:
    """Users by user name, filtered by a name fragment, role, organisation and activity."""
    filters = {k: args.get(k) for k in ("q", "role", "organisation_id", "active")}
    rows, total = services_users.search_users(**filters, page=args["page"], per_page=args["per_page"])
    return _page(rows, total, args, user_view)


@blp.route("/users/<int:user_id>", methods=["GET"])
@blp.response(200, UserOut)
@problem_responses(401, 403, 404)
@requires(perms.ACCOUNTS_ADMIN)
def get_user(user_id: int) -> Any:
    return user_view(services_users.get_user(user_id))


@blp.route("/users", methods=["POST"])
@blp.arguments(UserCreateArgs)
@blp.response(201, UserCreated, headers={"Cache-Control": {"schema": {"type": "string"}}})
@problem_responses(401, 403, 404, 409, 422)
@requires(perms.ACCOUNTS_ADMIN)
def create_user(args: dict[str, Any]) -> Any:
    """Create an active user with roles and an organisation; without a password one is generated and returned once."""
    given = args.get("password")
    password = given or services_passwords.generate_password(services_users.normalise_username(args["username"]))
    user = services_users.create_user(
        actor=me(),
        username=args["username"],
        display_name=args.get("display_name") or "",
        password=password,
        roles=args["roles"],
        organisation_id=args.get("organisation_id"),
        email=args.get("email"),
        phone=args.get("phone"),
    )
    return {**user_view(user), "password": None if given else password}, 201, NO_STORE


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@blp.arguments(UserEditArgs)
@blp.response(200, UserOut)
@problem_responses(401, 403, 404, 409, 422)
@requires(perms.ACCOUNTS_ADMIN)
def update_user(args: dict[str, Any], user_id: int) -> Any:
    """Change profile, organisation or roles (`roles` replaces the list); the fields left out stay as they are."""
    user = services_users.get_user(user_id)
    services_users.update_user(
        actor=me(),
        user=user,
        display_name=args.get("display_name", user.display_name),
        email=args.get("email", user.email),
        phone=args.get("phone", user.phone),
        organisation_id=args.get("organisation_id", user.organisation_id),
        roles=args.get("roles", [r.name for r in user.roles]),
    )
    return user_view(user)


@blp.route("/users/<int:user_id>/roles", methods=["PUT"])
@blp.arguments(RolesArgs)
@blp.response(200, UserOut)
@problem_responses(401, 403, 404, 409, 422)
@requires(perms.ACCOUNTS_ADMIN)
def set_user_roles(args: dict[str, Any], user_id: int) -> Any:
    """Replace the user's roles."""
    user = services_users.get_user(user_id)
    services_users.set_roles(actor=me(), user=user, roles=args["roles"])
    return user_view(user)


@blp.route("/users/<int:user_id>/roles", methods=["POST"])
@blp.arguments(RoleArgs)
@blp.response(200, UserOut)
@problem_responses(401, 403, 404, 409, 422)
@requires(perms.ACCOUNTS_ADMIN)
def assign_role(args: dict[str, Any], user_id: int) -> Any:
    """Give the user one more role (already held: nothing changes)."""
    user = services_users.get_user(user_id)
    services_users.set_roles(actor=me(), user=user, roles=[*(r.name for r in user.roles), args["role"]])
    return user_view(user)


@blp.route("/users/<int:user_id>/roles/<role_name>", methods=["DELETE"])
@blp.response(200, UserOut)
@problem_responses(401, 403, 404, 409, 422)
@requires(perms.ACCOUNTS_ADMIN)
def remove_role(user_id: int, role_name: str) -> Any:
    """Take a role away (not held: nothing changes; the last active administrator keeps theirs)."""
    user = services_users.get_user(user_id)
    services_roles.roles_by_name([role_name])  # an unknown name is a 422, not a silent no-op
    services_users.set_roles(actor=me(), user=user, roles=[r.name for r in user.roles if r.name != role_name])
    return user_view(user)


def _user_action(user_id: int, action: str) -> Any:
    user = services_users.get_user(user_id)
    if action == "deactivate":
        services_users.set_active(actor=me(), user=user, active=False)
    elif action == "activate":
        services_users.set_active(actor=me(), user=user, active=True)
    elif action == "unlock":
        services_login.unlock_user(actor=me(), user=user, ip=_ip())
    elif action == "reset-totp":
        services_totp.reset_totp(actor=me(), user=user)
    return user_view(user)


@blp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@blp.response(200, UserOut)
@problem_responses(401, 403, 404, 409)
@requires(perms.ACCOUNTS_ADMIN)
def deactivate_user(user_id: int) -> Any:
    """Lock the account: its sessions end and its tokens stop working (not one's own, not the last admin)."""
    return _user_action(user_id, "deactivate")


@blp.route("/users/<int:user_id>/activate", methods=["POST"])
@blp.response(200, UserOut)
@problem_responses(401, 403, 404, 409)
@requires(perms.ACCOUNTS_ADMIN)
def activate_user(user_id: int) -> Any:
    return _user_action(user_id, "activate")


@blp.route("/users/<int:user_id>/unlock", methods=["POST"])
@blp.response(200, UserOut)
@problem_responses(401, 403, 404)
@requires(perms.ACCOUNTS_ADMIN)
def unlock_user(user_id: int) -> Any:
    """Lift a sign-in lockout after failed attempts."""
    return _user_action(user_id, "unlock")


@blp.route("/users/<int:user_id>/reset-totp", methods=["POST"])
@blp.response(200, UserOut)
@problem_responses(401, 403, 404, 409)
@requires(perms.ACCOUNTS_ADMIN)
def reset_user_totp(user_id: int) -> Any:
    """Remove the user's authenticator (lost phone): they enrol again at their next sign-in."""
    return _user_action(user_id, "reset-totp")


@blp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@blp.arguments(ResetPasswordArgs)
@blp.response(200, PasswordOut, headers={"Cache-Control": {"schema": {"type": "string"}}})
@problem_responses(401, 403, 404, 409, 422)
@requires(perms.ACCOUNTS_ADMIN)
def reset_user_password(args: dict[str, Any], user_id: int) -> Any:
    """Set a new password (generated when none is given, returned once); the user's sessions end."""
    user = services_users.get_user(user_id)
    password = services_users.reset_password(actor=me(), user=user, password=args.get("password"))
    return {"password": password}, 200, NO_STORE


# --- roles -------------------------------------------------------------------------------------------


class PermissionOut(ma.Schema):
    name = ma.fields.String(required=True)
    label_en = ma.fields.String(required=True)
    label_zh = ma.fields.String(required=True)


class RoleOut(ma.Schema):
    id = Integer(required=True)
    name = ma.fields.String(required=True)
    label_en = ma.fields.String(required=True)
    label_zh = ma.fields.String(required=True)
    permissions = ma.fields.List(ma.fields.String(), required=True)
    requires_totp = ma.fields.Boolean(required=True)


class RoleUpdateArgs(ma.Schema):
    label_en = PlainText(validate=validate.Length(min=1, max=100))
    label_zh = PlainText(validate=validate.Length(min=1, max=100))
    permissions = ma.fields.List(PlainText(validate=validate.Length(min=1, max=100)), validate=validate.Length(max=200))
    requires_totp = ma.fields.Boolean()


@blp.route("/roles", methods=["GET"])
@blp.response(200, RoleOut(many=True))
@problem_responses(401, 403)
@requires(perms.ACCOUNTS_ADMIN)
def list_roles() -> Any:
    """Every role with the permissions it grants (roles are data)."""
    return services_roles.list_roles()


@blp.route("/roles/<int:role_id>", methods=["GET"])
@blp.response(200, RoleOut)
@problem_responses(401, 403, 404)
@requires(perms.ACCOUNTS_ADMIN)
def get_role(role_id: int) -> Any:
    return services_roles.get_role(role_id)


@blp.route("/roles/<int:role_id>", methods=["PATCH"])
@blp.arguments(RoleUpdateArgs)
@blp.response(200, RoleOut)
@problem_responses(401, 403, 404, 409, 422)
@requires(perms.ACCOUNTS_ADMIN)
def update_role(args: dict[str, Any], role_id: int) -> Any:
    """Change labels, permissions (`permissions` replaces the list) or the TOTP requirement."""
    role: Role = services_roles.get_role(role_id)
    services_roles.update_role(
        actor=me(),
        role=role,
        label_en=args.get("label_en", role.label_en),
        label_zh=args.get("label_zh", role.label_zh),
        permissions=args.get("permissions", list(role.permissions or [])),
        requires_totp=args.get("requires_totp", role.requires_totp),
    )
    return role


@blp.route("/permissions", methods=["GET"])
@blp.response(200, PermissionOut(many=True))
@problem_responses(401, 403)
@requires(perms.ACCOUNTS_ADMIN)
def list_permissions() -> Any:
    """The permissions modules declare, which roles may grant."""
    return list(perms.declared().values())


def init_app(app: Flask) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
