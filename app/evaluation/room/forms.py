"""Forms of the agency's room pages: open a room, appoint its chair, advance it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

MAX_REASON = 2000

# --- forms -------------------------------------------------------------------------------------------


class OpenRoomForm(FlaskForm):
    chair_seat = SelectField(
        _l("Chair"),
        choices=[],
        description=_l("Appoint a seat as chair, or let the members elect theirs in the room."),
    )
    submit = SubmitField(_l("Open the room"))


class AppointChairForm(FlaskForm):
    seat = SelectField(_l("Seat to appoint as chair"), choices=[], validators=[InputRequired()])
    submit = SubmitField(_l("Appoint the chair"))


class AdvanceForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (optional)"),
        validators=[Optional(), Length(max=MAX_REASON)],
        description=_l("Left empty, the bids the committee failed are listed as the reason."),
    )
    submit = SubmitField(_l("Advance to the next stage"))
