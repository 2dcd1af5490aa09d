"""Forms of the report's pages: publicity, answers to objections, the award, an objection."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

MAX_TEXT = 10000

MAX_REASON = 2000


class PublishForm(FlaskForm):
    days = FloatField(
        _l("Publicity period in days (optional)"),
        validators=[Optional(), NumberRange(min=0, max=60)],
        description=_l("Never shorter than the configured period."),
    )
    submit = SubmitField(_l("Start the publicity"))


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Answer"), validators=[DataRequired(), Length(max=MAX_TEXT)])
    submit = SubmitField(_l("Send the answer"))


class AwardForm(FlaskForm):
    confirm = BooleanField(
        _l("I confirm the publicity has ended and the award goes to the first recommended candidate."),
        validators=[DataRequired(_l("Confirm before you award."))],
    )
    submit = SubmitField(_l("Issue the award notice"))


class ReassignForm(FlaskForm):
    reason = TextAreaField(
        _l("Why the winner is replaced"),
        validators=[DataRequired(), Length(max=MAX_REASON)],
        description=_l("The winner declined the award, or failed to sign the contract."),
    )
    confirm = BooleanField(
        _l("I confirm the award goes to the next recommended candidate."),
        validators=[DataRequired(_l("Confirm before you reassign."))],
    )
    submit = SubmitField(_l("Reassign the award"))


class ObjectionForm(FlaskForm):
    text = TextAreaField(_l("Your objection"), validators=[DataRequired(), Length(max=MAX_TEXT)])
    submit = SubmitField(_l("File the objection"))
