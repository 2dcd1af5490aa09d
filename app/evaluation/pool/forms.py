"""Forms of the pool maintainers' pages (/admin/experts, /admin/specialties)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.accounts.forms import MultiCheckboxField
from app.evaluation.pool import services as services_pool
from app.evaluation.web import choices


class ExpertForm(FlaskForm):
    user_id = SelectField(_l("User account"), coerce=int, description=_l("An account holding the expert role."))
    employer_id = SelectField(_l("Employer"), coerce=int, validators=[Optional()])
    region = StringField(_l("Region"), validators=[Length(max=100)])
    specialties = MultiCheckboxField(_l("Specialties"))
    qualifications = TextAreaField(_l("Qualifications"), description=_l("One per line."))
    available = BooleanField(_l("Available for draws"), default=True)
    submit = SubmitField(_l("Save"))


class StatusForm(FlaskForm):
    status = SelectField(
        _l("Status"),
        choices=choices(
            [
                ("active", _l("In the expert pool")),
                ("suspended", _l("Suspended from the pool")),
                ("blacklisted", _l("Barred from the pool")),
            ]
        ),
    )
    reason = TextAreaField(
        _l("Reason"), validators=[Length(max=2000)], description=_l("Required to suspend or bar an expert.")
    )
    submit = SubmitField(_l("Change the status"))


class RelationshipForm(FlaskForm):
    organisation_id = SelectField(_l("Organisation"), coerce=int)
    note = TextAreaField(_l("Relationship"), validators=[Length(max=2000)], description=_l("E.g. former employer."))
    submit = SubmitField(_l("Declare the relationship"))


class SpecialtyForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("Lowercase letters, digits, '_' and '-', starting with a letter; never changes."),
    )
    name_zh = StringField(_l("Name in Chinese"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=100)])
    active = BooleanField(_l("Active (offered for new experts and committees)"), default=True)
    submit = SubmitField(_l("Save the specialty"))


def specialty_choices(include_inactive: bool = False) -> list[tuple[str, str]]:
    return [(s.code, s.name_zh) for s in services_pool.list_specialties(include_inactive=include_inactive)]
