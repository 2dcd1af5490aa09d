"""Forms of the agency's tender pages and of the custodian's share pages."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional

from app.core.forms import YuanField
from app.tendering import schemas, terms, terms_editor
from app.tendering.models import CustodyMode, EvaluationMethod

LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]

MAX_ENVELOPE_ROWS = terms.MAX_ENVELOPES

METHOD_LABELS = {
    EvaluationMethod.COMPREHENSIVE.value: _l("Comprehensive scoring"),
    EvaluationMethod.LOWEST_EVALUATED_PRICE.value: _l("Lowest evaluated price"),
}

CUSTODY_LABELS = {
    CustodyMode.TIMED.value: _l("Timed: the platform releases the key at the opening time"),
    CustodyMode.COMMITTEE.value: _l("Committee: k of n named custodians bring their shares to the opening"),
}
SHARE_FILE_LIMIT = 16 * 1024  # a share is about a hundred characters of text

# --- forms -------------------------------------------------------------------------------------------


def choices(pairs: Any) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class EnvelopeRow(Form):
    """One envelope of the bid (no CSRF of its own: it is part of TenderForm)."""

    name = StringField(_l("Envelope name"), validators=[Optional()])
    stage = SelectField(_l("Stage"), coerce=int, choices=choices((i, str(i)) for i in range(1, MAX_ENVELOPE_ROWS + 1)))


class TenderForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired()])
    buyer_id = SelectField(_l("Buyer"), coerce=int, validators=[InputRequired()])
    category = StringField(_l("Category"), validators=[DataRequired()])
    description = TextAreaField(_l("Description"))
    budget = YuanField(
        _l("Budget (yuan)"),
        validators=[Optional()],
        max_fen=schemas.MAX_AMOUNT,
        description=_l("Optional; at most two decimals, e.g. 1500000.00 or 1,500,000.00."),
    )
    budget_secret = BooleanField(_l("Keep the budget secret until the bid forms are opened"))
    submission_deadline_at = DateTimeLocalField(
        _l("Submission deadline"), format=LOCAL_FORMATS, validators=[InputRequired()]
    )
    opening_at = DateTimeLocalField(_l("Opening"), format=LOCAL_FORMATS, validators=[InputRequired()])
    min_bids = IntegerField(_l("Minimum number of bids"), default=3, validators=[InputRequired()])
    evaluation_method = SelectField(_l("Evaluation method"), choices=choices(METHOD_LABELS.items()))
    # the criteria and the bid form as rows of form controls (app.tendering.terms_editor)
    criteria = FieldList(FormField(terms_editor.CriterionRow), min_entries=1, max_entries=terms_editor.MAX_CRITERIA)
    add_criterion = SubmitField(_l("Add a criterion"))
    outlier_percent = IntegerField(
        _l("Outlier threshold (%)"),
        validators=[Optional()],
        description=_l("A score this far from the other members' mean needs a written reason."),
    )
    drop_extremes = BooleanField(_l("Drop the highest and the lowest score of each item"))
    adjustments = FieldList(
        FormField(terms_editor.AdjustmentRow), min_entries=1, max_entries=terms_editor.MAX_ADJUSTMENTS
    )
    add_adjustment = SubmitField(_l("Add a price adjustment"))
    envelopes = FieldList(FormField(EnvelopeRow), min_entries=MAX_ENVELOPE_ROWS, max_entries=MAX_ENVELOPE_ROWS)
    form_envelope = SelectField(
        _l("Envelope that carries the bid form"),
        coerce=int,
        choices=choices((i, str(i + 1)) for i in range(MAX_ENVELOPE_ROWS)),
        default=0,
    )
    bid_form_title = StringField(_l("Title of the bid form"))
    bid_fields = FieldList(FormField(terms_editor.BidFieldRow), min_entries=1, max_entries=terms_editor.MAX_FIELDS)
    add_field = SubmitField(_l("Add a field"))
    custody_mode = SelectField(_l("Custody of the opening key"), choices=choices(CUSTODY_LABELS.items()))
    custodians = TextAreaField(
        _l("Custodians (user names, one per line)"), description=_l("Only for committee custody.")
    )
    custody_threshold = IntegerField(_l("Shares needed to open (k)"), validators=[Optional()])
    platform_holds_share = BooleanField(_l("The platform also holds one share, released at the opening time"))
    max_bid_size_mib = IntegerField(
        _l("Maximum bid size (MiB)"), validators=[Optional()], description=_l("Leave empty for the platform default.")
    )
    submit = SubmitField(_l("Save draft"))
    criteria_rows: list[int]  # the row of each criteria item sent (rows left empty are skipped)


class DocumentForm(FlaskForm):
    document = FileField(_l("Tender document"), validators=[FileRequired()])
    text = TextAreaField(
        _l("Amendment text"), description=_l("Published tenders only: a document added now is an amendment.")
    )
    submit = SubmitField(_l("Upload"))


class PublishForm(FlaskForm):
    submit = SubmitField(_l("Publish and freeze the terms"))


class ClarifyForm(FlaskForm):
    text = TextAreaField(_l("Clarification text"), validators=[DataRequired()])
    submission_deadline_at = DateTimeLocalField(
        _l("New submission deadline"), format=LOCAL_FORMATS, validators=[Optional()]
    )
    opening_at = DateTimeLocalField(_l("New opening"), format=LOCAL_FORMATS, validators=[Optional()])
    description = TextAreaField(_l("New description (leave empty to keep the current one)"))
    submit = SubmitField(_l("Issue the clarification"))


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Public answer"), validators=[DataRequired()])
    submit = SubmitField(_l("Answer publicly"))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the cancellation"), validators=[DataRequired()])
    submit = SubmitField(_l("Cancel the tender"))


class ShareForm(FlaskForm):
    kind = SelectField(choices=choices([("text", "text"), ("file", "file")]), default="text")


class BringShareForm(FlaskForm):
    """A custodian brings its share to the opening: pasted as text, or the file it downloaded."""

    share = TextAreaField(_l("Share (text)"))
    file = FileField(_l("or the share file"))
