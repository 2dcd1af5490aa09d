"""Forms of the agency's committee pages: the committee's rules, buyer representatives, seats."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, IntegerField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.accounts.forms import MultiCheckboxField
from app.evaluation.web import choices

GROUP_ROWS = 5

# --- forms -------------------------------------------------------------------------------------------


class GroupRow(Form):
    """One specialty group of the committee (part of CommitteeForm, no CSRF of its own)."""

    specialty = SelectField(_l("Specialty"), validators=[Optional()])
    count = IntegerField(_l("Number of experts"), validators=[Optional(), NumberRange(min=1, max=25)])


class CommitteeForm(FlaskForm):
    size = IntegerField(
        _l("Committee size"),
        default=5,
        validators=[InputRequired(), NumberRange(min=5, max=25)],
        description=_l("An odd number from 5 to 25."),
    )
    expert_seats = IntegerField(
        _l("Expert seats"),
        default=4,
        validators=[InputRequired(), NumberRange(min=4, max=25)],
        description=_l(
            "Experts drawn from the pool hold at least two thirds of the seats; the rest are buyer representatives."
        ),
    )
    groups = FieldList(FormField(GroupRow), min_entries=GROUP_ROWS, max_entries=GROUP_ROWS)
    reserves_per_group = IntegerField(
        _l("Reserves per specialty group"),
        default=2,
        validators=[InputRequired(), NumberRange(min=0, max=10)],
        description=_l("Drawn in order with the members; invited when a member declines."),
    )
    buyer_rep_ids = MultiCheckboxField(_l("Buyer representatives"), coerce=int)
    outlier_percent = IntegerField(
        _l("Outlier threshold (percent)"), validators=[Optional(), NumberRange(min=1, max=100)]
    )
    drop_extremes = BooleanField(_l("Drop the highest and lowest score of each item"))
    drop_min_members = IntegerField(
        _l("Drop them only with at least this many scores"), validators=[Optional(), NumberRange(min=3, max=25)]
    )
    precision = IntegerField(_l("Decimal places of the scores"), validators=[Optional(), NumberRange(min=0, max=4)])
    price_benchmark = SelectField(
        _l("Price benchmark"),
        choices=choices([("lowest", _l("The lowest valid price")), ("average", _l("The average valid price"))]),
    )
    submit = SubmitField(_l("Save the committee"))


class AppointForm(FlaskForm):
    seat = SelectField(_l("Seat"), coerce=int)
    user_id = SelectField(_l("Buyer representative"), coerce=int)
    submit = SubmitField(_l("Appoint"))


class ReleaseForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Release the seat"))
