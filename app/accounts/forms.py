"""Flask-WTF forms of the account pages (each carries its CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    widgets,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional

from app.accounts.models import OrganisationKind


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    submit = SubmitField(_l("Sign in"))


class TotpForm(FlaskForm):
    code = StringField(
        _l("Six-digit code"),
        validators=[DataRequired(), Length(min=6, max=8)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )
    submit = SubmitField(_l("Verify"))


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    submit = SubmitField(_l("Save"))


class PasswordForm(FlaskForm):
    current = PasswordField(
        _l("Current password"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=10, max=256)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Change password"))


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])
    expires_in_days = IntegerField(_l("Valid for (days)"), default=30, validators=[DataRequired(), NumberRange(1, 365)])
    # No DataRequired: browsers would then demand every checkbox; the service refuses an empty list.
    scopes = MultiCheckboxField(_l("Scopes"))
    submit = SubmitField(_l("Create token"))


class UserEditForm(ProfileForm):
    """An administrator's edit: the profile fields, the organisation and the roles."""

    organisation_id = SelectField(_l("Organisation"), coerce=int, default=0)
    roles = MultiCheckboxField(_l("Roles"))


class UserForm(UserEditForm):
    """A new user: the edit fields, the user name and an optional initial password."""

    username = StringField(_l("User name"), validators=[DataRequired(), Length(min=2, max=64)])
    password = PasswordField(
        _l("Initial password (leave empty to generate one)"), validators=[Optional(), Length(max=256)]
    )


ORG_KIND_LABELS = {
    OrganisationKind.BIDDER: _l("Bidder (company)"),
    OrganisationKind.AGENCY: _l("Tendering agency"),
    OrganisationKind.BUYER: _l("Buyer"),
    OrganisationKind.DEPARTMENT: _l("Approval department"),
    OrganisationKind.SERVICE_UNIT: _l("Service unit"),
    OrganisationKind.CENTER: _l("Center office"),
    OrganisationKind.OTHER: _l("Other"),
}


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[(k.value, label) for k, label in ORG_KIND_LABELS.items()])
    uscc = StringField(
        _l("Unified social credit code"),
        validators=[Optional(), Length(max=30)],
        description=_l("18 characters; required for bidders and agencies."),
    )
    submit = SubmitField(_l("Create"))


class RoleForm(FlaskForm):
    label_en = StringField(_l("English label"), validators=[DataRequired(), Length(max=100)])
    label_zh = StringField(_l("Chinese label"), validators=[DataRequired(), Length(max=100)])
    permissions = MultiCheckboxField(_l("Permissions"))
    requires_totp = BooleanField(_l("Requires two-step verification"))
    submit = SubmitField(_l("Save"))
