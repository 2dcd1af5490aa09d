"""HTML pages: sign-in with the TOTP step, the account page (profile, password, tokens, TOTP), administration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import segno
from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from app.accounts import permissions as perms
from app.accounts import (
    services_login,
    services_organisations,
    services_passwords,
    services_roles,
    services_sessions,
    services_tokens,
    services_totp,
    services_users,
)
from app.accounts.common import N_
from app.accounts.forms import (
    ORG_KIND_LABELS,
    LoginForm,
    OrganisationForm,
    PasswordForm,
    ProfileForm,
    RoleForm,
    TokenForm,
    TotpForm,
    UserEditForm,
    UserForm,
)
from app.accounts.models import User
from app.accounts.services_login import PENDING_TOTP_LIFETIME, SignInResult, SignInStatus
from app.core.db import db
from app.core.errors import DomainError
from app.core.pages import attempt, me
from app.core.security import authenticated, public, requires
from app.core.time import format_center_time, now_utc
from app.core.views import register_nav, safe_next

bp = Blueprint("accounts", __name__, template_folder="templates")

PENDING_KEYS = ("pending_uid", "pending_at", "pending_next")

# Messages made outside this file and translated when a page shows them (USCC rules).
_CATALOGUE = (
    N_("a unified social credit code has 18 characters"),
    N_("only digits and capital letters other than I, O, Z, S, V are allowed"),
    N_("the first character is not a registration authority code"),
    N_("the second character is not an organisation type of that registration authority"),
    N_("characters 3-8 must be an administrative division code"),
    N_("the organisation code (characters 9-17) has a wrong check character"),
    N_("the check character (18th) is wrong"),
)


def _ip() -> str:
    return request.remote_addr or "-"


def _error_text(exc: DomainError | None) -> str:
    """The service's message, translated when the catalogue knows it, with field details."""
    if exc is None:
        return ""
    text = exc.translated
    errors = exc.extra.get("errors")
    # Password rules are sentences worth showing; other field errors are machine codes for the API.
    if isinstance(errors, dict) and isinstance(errors.get("password"), list):
        text = f"{text} ({'; '.join(_(str(v)) for v in errors['password'])})"
    return str(text)


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _center(value: datetime | None) -> str:
    return format_center_time(value, current_app.config["CENTER_TIMEZONE"])


# --- sign-in ---------------------------------------------------------------------------------------


def _fresh_cookie_session() -> None:
    """Empty the cookie session but for the chosen language (nothing from before a sign-in or sign-out survives)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _drop_pending() -> None:
    """Forget a half-done sign-in (password checked, TOTP code not yet)."""
    for key in PENDING_KEYS:
        session.pop(key, None)


def _complete_login(user: User) -> None:
    """A fresh cookie session and a fresh server session id: nothing from before the sign-in survives."""
    _fresh_cookie_session()
    _row, sid = services_sessions.start_session(user, ip=_ip(), user_agent=request.headers.get("User-Agent", ""))
    session["sid"] = sid
    session.permanent = True
    login_user(user)


def _refusal_message(result: SignInResult) -> tuple[str, int]:
    if result.status in (SignInStatus.LOCKED, SignInStatus.THROTTLED):
        return _("Too many failed attempts. Try again after %(time)s.", time=_center(result.retry_at)), 429
    return _("Sign-in failed: the user name, password or code is not correct."), 401


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    next_url = safe_next(request.values.get("next"), url_for("core.index"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        result = services_login.check_sign_in(form.username.data or "", form.password.data or "", ip=_ip())
        # Mid-request on purpose: failures and lockouts are evidence even though the sign-in is refused (401/429).
        db.session.commit()
        if result.status is SignInStatus.OK and result.user is not None:
            _complete_login(result.user)
            return redirect(next_url, code=303)
        if result.status is SignInStatus.TOTP_REQUIRED and result.user is not None:
            _fresh_cookie_session()
            session["pending_uid"] = result.user.id
            session["pending_at"] = now_utc().timestamp()
            session["pending_next"] = next_url
            return redirect(url_for("accounts.login_totp"), code=303)
        error, status = _refusal_message(result)
    elif request.method == "POST":
        status = 400
    return render_template("accounts/login.html", form=form, error=error, next_url=next_url), status


@bp.route("/login/totp", methods=["GET", "POST"])
@public
def login_totp() -> Any:
    uid, started = session.get("pending_uid"), session.get("pending_at")
    fresh = started is not None and now_utc().timestamp() - float(started) < PENDING_TOTP_LIFETIME.total_seconds()
    if uid is None or not fresh:
        _drop_pending()
        flash(_("Please sign in again."), "info")
        return redirect(url_for("accounts.login"))
    form = TotpForm()
    error, status = None, 200
    if form.validate_on_submit():
        result = services_login.check_totp_step(int(uid), form.code.data or "", ip=_ip())
        db.session.commit()  # mid-request on purpose: a wrong code counts toward the lockout although refused
        if result.status is SignInStatus.OK and result.user is not None:
            next_url = safe_next(session.get("pending_next"), url_for("core.index"))
            _complete_login(result.user)
            return redirect(next_url, code=303)
        if result.status in (SignInStatus.LOCKED, SignInStatus.THROTTLED):
            _drop_pending()
        error, status = _refusal_message(result)
    elif request.method == "POST":
        status = 400
    return render_template("accounts/login_totp.html", form=form, error=error), status


@bp.post("/logout")
@authenticated
def logout() -> Any:
    sid = session.get("sid")
    if sid:
        services_sessions.end_session(str(sid))
    logout_user()
    _fresh_cookie_session()
    flash(_("You have signed out."), "info")
    return redirect(url_for("core.index"), code=303)


# --- own account -----------------------------------------------------------------------------------


def _scope_choices(user: User) -> list[tuple[str, str]]:
    declared = perms.declared()
    choices = [("*", _("Everything my roles allow"))]
    locale = _locale()
    for name in sorted(user.permissions):
        p = declared.get(name)
        label = p.label(locale) if p else name
        choices.append((name, label))
    # Scopes no role grants (custody, committee work, granted replays): every account may delegate them.
    for name, p in perms.object_scopes().items():
        choices.append((name, p.label(locale)))
    return choices


def _render_account(status: int = 200, new_token: str | None = None, **forms: Any) -> Any:
    user = me()
    profile = forms.get("profile") or ProfileForm(obj=user, formdata=None)
    password = forms.get("password") or PasswordForm(formdata=None)
    token_form = forms.get("token") or TokenForm(formdata=None)
    token_form.scopes.choices = _scope_choices(user)
    html = render_template(
        "accounts/account.html",
        user=user,
        profile_form=profile,
        password_form=password,
        token_form=token_form,
        tokens=services_tokens.list_tokens(user),
        new_token=new_token,
        now=now_utc(),
        error=forms.get("error"),
    )
    resp = make_response(html, status)
    if new_token:
        resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/account")
@requires(perms.ACCOUNTS_SELF)
def account() -> Any:
    return _render_account()


@bp.post("/account/profile")
@requires(perms.ACCOUNTS_SELF)
def update_profile() -> Any:
    form = ProfileForm()
    if not form.validate_on_submit():
        return _render_account(400, profile=form)
    with attempt() as outcome:
        services_users.update_profile(
            actor=me(),
            user=me(),
            display_name=form.display_name.data or "",
            email=form.email.data,
            phone=form.phone.data,
        )
    if outcome.failed:
        return _render_account(outcome.status, profile=form, error=_error_text(outcome.error))
    flash(_("Your profile was saved."), "success")
    return redirect(url_for("accounts.account"), code=303)


@bp.post("/account/password")
@requires(perms.ACCOUNTS_SELF)
def change_password() -> Any:
    form = PasswordForm()
    if not form.validate_on_submit():
        return _render_account(400, password=form)
    with attempt() as outcome:
        services_users.change_password(
            user=me(),
            current=form.current.data or "",
            new=form.new.data or "",
            keep_session_id=g.get("user_session_id"),
        )
    if outcome.failed:
        return _render_account(outcome.status, password=form, error=_error_text(outcome.error))
    flash(_("Your password was changed; your other sessions were signed out."), "success")
    return redirect(url_for("accounts.account"), code=303)


@bp.post("/account/tokens")
@requires(perms.ACCOUNTS_SELF)
def create_token() -> Any:
    form = TokenForm()
    form.scopes.choices = _scope_choices(me())
    if not form.validate_on_submit():
        return _render_account(400, token=form)
    with attempt() as outcome:
        _token, text = services_tokens.create_token(
            user=me(),
            name=form.name.data or "",
            scopes=list(form.scopes.data or []),
            expires_in_days=form.expires_in_days.data,
        )
    if outcome.failed:
        return _render_account(outcome.status, token=form, error=_error_text(outcome.error))
    return _render_account(201, new_token=text)


@bp.post("/account/tokens/<int:token_id>/revoke")
@requires(perms.ACCOUNTS_SELF)
def revoke_token(token_id: int) -> Any:
    services_tokens.revoke_token(user=me(), token_id=token_id)
    flash(_("The token was revoked."), "success")
    return redirect(url_for("accounts.account"), code=303)


@bp.route("/account/totp", methods=["GET", "POST"])
@authenticated
def totp_setup() -> Any:
    user = me()
    if user.totp_enabled:
        return render_template("accounts/totp.html", user=user, enabled=True)
    if user.totp_secret_enc is None:
        services_totp.begin_totp_enrolment(user)
    form = TotpForm()
    error, status = None, 200
    if form.validate_on_submit():
        with attempt() as outcome:
            services_totp.confirm_totp_enrolment(user, form.code.data or "")
        if outcome.failed:
            error, status = _error_text(outcome.error), outcome.status
        else:
            flash(_("Two-step verification is on."), "success")
            return redirect(url_for("accounts.account") if user.has_permission(perms.ACCOUNTS_SELF) else "/", code=303)
    elif request.method == "POST":
        status = 400
    uri = services_totp.totp_uri(user)
    qr_svg = segno.make(uri, error="m").svg_inline(scale=5, title=_("Authenticator QR code"))
    resp = make_response(
        render_template(
            "accounts/totp.html",
            user=user,
            enabled=False,
            form=form,
            error=error,
            qr_svg=qr_svg,
            secret=services_totp.totp_secret_for_display(user),
            required=user.totp_required,
        ),
        status,
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


# --- administration --------------------------------------------------------------------------------


def _org_choices() -> list[tuple[int, str]]:
    return [(0, _("(none)"))] + [(o.id, o.name) for o in services_organisations.list_organisations()]


def _role_choices() -> list[tuple[str, str]]:
    locale = _locale()
    return [(r.name, r.label(locale)) for r in services_roles.list_roles()]


@bp.get("/admin/users")
@requires(perms.ACCOUNTS_ADMIN)
def admin_users() -> Any:
    users = services_users.list_users()
    locks = {u.id: services_login.locked_until(u.username) for u in users}
    return render_template("accounts/admin_users.html", users=users, locks=locks)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@requires(perms.ACCOUNTS_ADMIN)
def admin_user_new() -> Any:
    form = UserForm()
    form.organisation_id.choices = _org_choices()
    form.roles.choices = _role_choices()
    error, status = None, 200
    if form.validate_on_submit():
        password = form.password.data or services_passwords.generate_password(
            services_users.normalise_username(form.username.data or "")
        )
        with attempt() as outcome:
            user = services_users.create_user(
                actor=me(),
                username=form.username.data or "",
                display_name=form.display_name.data or "",
                password=password,
                roles=list(form.roles.data or []),
                organisation_id=form.organisation_id.data or None,
                email=form.email.data,
                phone=form.phone.data,
            )
        if outcome.failed:
            error, status = _error_text(outcome.error), outcome.status
        else:
            if not form.password.data:
                resp = make_response(
                    render_template("accounts/admin_user_created.html", user=user, password=password), 201
                )
                resp.headers["Cache-Control"] = "no-store"
                return resp
            flash(_("The user was created."), "success")
            return redirect(url_for("accounts.admin_user", user_id=user.id), code=303)
    elif request.method == "POST":
        status = 400
    return render_template("accounts/admin_user_new.html", form=form, error=error), status


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@requires(perms.ACCOUNTS_ADMIN)
def admin_user(user_id: int) -> Any:
    user = services_users.get_user(user_id)
    form = UserEditForm(obj=user) if request.method == "GET" else UserEditForm()
    form.organisation_id.choices = _org_choices()
    form.roles.choices = _role_choices()
    if request.method == "GET":
        form.organisation_id.data = user.organisation_id or 0
        form.roles.data = [r.name for r in user.roles]
    error, status = None, 200
    if form.validate_on_submit():
        with attempt() as outcome:
            services_users.update_user(
                actor=me(),
                user=user,
                display_name=form.display_name.data or "",
                email=form.email.data,
                phone=form.phone.data,
                organisation_id=form.organisation_id.data or None,
                roles=list(form.roles.data or []),
            )
        if outcome.failed:
            error, status = _error_text(outcome.error), outcome.status
        else:
            flash(_("The user was saved."), "success")
            return redirect(url_for("accounts.admin_user", user_id=user.id), code=303)
    elif request.method == "POST":
        status = 400
    return render_template(
        "accounts/admin_user.html", user=user, form=form, error=error, locked=services_login.locked_until(user.username)
    ), status


def _admin_action(user_id: int, action: str) -> Any:
    user = services_users.get_user(user_id)
    with attempt() as outcome:
        if action == "deactivate":
            services_users.set_active(actor=me(), user=user, active=False)
        elif action == "activate":
            services_users.set_active(actor=me(), user=user, active=True)
        elif action == "unlock":
            services_login.unlock_user(actor=me(), user=user, ip=_ip())
        elif action == "reset-totp":
            services_totp.reset_totp(actor=me(), user=user)
    if outcome.failed:
        flash(_error_text(outcome.error), "error")
    else:
        flash(_("Done."), "success")
    return redirect(url_for("accounts.admin_user", user_id=user.id), code=303)


@bp.post("/admin/users/<int:user_id>/deactivate")
@requires(perms.ACCOUNTS_ADMIN)
def admin_user_deactivate(user_id: int) -> Any:
    return _admin_action(user_id, "deactivate")


@bp.post("/admin/users/<int:user_id>/activate")
@requires(perms.ACCOUNTS_ADMIN)
def admin_user_activate(user_id: int) -> Any:
    return _admin_action(user_id, "activate")


@bp.post("/admin/users/<int:user_id>/unlock")
@requires(perms.ACCOUNTS_ADMIN)
def admin_user_unlock(user_id: int) -> Any:
    return _admin_action(user_id, "unlock")


@bp.post("/admin/users/<int:user_id>/reset-totp")
@requires(perms.ACCOUNTS_ADMIN)
def admin_user_reset_totp(user_id: int) -> Any:
    return _admin_action(user_id, "reset-totp")


@bp.post("/admin/users/<int:user_id>/reset-password")
@requires(perms.ACCOUNTS_ADMIN)
def admin_user_reset_password(user_id: int) -> Any:
    user = services_users.get_user(user_id)
    with attempt() as outcome:
        password = services_users.reset_password(actor=me(), user=user)
    if outcome.failed:
        flash(_error_text(outcome.error), "error")
        return redirect(url_for("accounts.admin_user", user_id=user.id), code=303)
    resp = make_response(render_template("accounts/admin_user_password_reset.html", user=user, password=password))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/admin/organisations", methods=["GET", "POST"])
@requires(perms.ACCOUNTS_ADMIN)
def admin_organisations() -> Any:
    form = OrganisationForm()
    error, status = None, 200
    if form.validate_on_submit():
        with attempt() as outcome:
            services_organisations.create_organisation(
                actor=me(), name=form.name.data or "", kind=form.kind.data or "", uscc=form.uscc.data
            )
        if outcome.failed:
            error, status = _error_text(outcome.error), outcome.status
        else:
            flash(_("The organisation was created."), "success")
            return redirect(url_for("accounts.admin_organisations"), code=303)
    elif request.method == "POST":
        status = 400
    return render_template(
        "accounts/admin_organisations.html",
        form=form,
        error=error,
        organisations=services_organisations.list_organisations(),
        kind_labels=ORG_KIND_LABELS,
    ), status


@bp.get("/admin/roles")
@requires(perms.ACCOUNTS_ADMIN)
def admin_roles() -> Any:
    return render_template("accounts/admin_roles.html", roles=services_roles.list_roles(), declared=perms.declared())


@bp.route("/admin/roles/<int:role_id>", methods=["GET", "POST"])
@requires(perms.ACCOUNTS_ADMIN)
def admin_role(role_id: int) -> Any:
    role = services_roles.get_role(role_id)
    form = RoleForm(obj=role) if request.method == "GET" else RoleForm()
    locale = _locale()
    form.permissions.choices = [(p.name, p.label(locale)) for p in perms.declared().values()]
    error, status = None, 200
    if form.validate_on_submit():
        with attempt() as outcome:
            services_roles.update_role(
                actor=me(),
                role=role,
                label_en=form.label_en.data or "",
                label_zh=form.label_zh.data or "",
                permissions=list(form.permissions.data or []),
                requires_totp=bool(form.requires_totp.data),
            )
        if outcome.failed:
            error, status = _error_text(outcome.error), outcome.status
        else:
            flash(_("The role was saved."), "success")
            return redirect(url_for("accounts.admin_roles"), code=303)
    elif request.method == "POST":
        status = 400
    return render_template("accounts/admin_role.html", role=role, form=form, error=error), status


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("accounts.account", _l("My account"), perms.ACCOUNTS_SELF, order=90)
    register_nav("accounts.admin_users", _l("Users"), perms.ACCOUNTS_ADMIN, order=91)
    register_nav("accounts.admin_organisations", _l("Organisations"), perms.ACCOUNTS_ADMIN, order=92)
    register_nav("accounts.admin_roles", _l("Roles"), perms.ACCOUNTS_ADMIN, order=93)
