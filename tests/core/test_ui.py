"""The design system's view helpers and macro library: money, sizes, state tags, fields and error summaries."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import DataRequired

from app import create_app
from app.config import test_config
from app.core import ui
from app.evaluation import models as evaluation_models
from app.recordings import models as recordings_models
from app.tendering import models as tendering_models
from tests.accounts.helpers import compile_translations
from tests.html import parse


@pytest.fixture(scope="module")
def flask_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    compile_translations()
    return create_app(test_config(tmp_path_factory.mktemp("ui"), WTF_CSRF_ENABLED=False))


def render(app: Flask, source: str, lang: str = "zh-CN", **context: Any) -> str:
    with app.test_request_context("/", headers={"Accept-Language": lang}):
        return render_template_string(source, **context)


# ---------------------------------------------------------------- money, sizes


@pytest.mark.parametrize(
    ("fen", "shown"),
    [
        (138_000_000, "1,380,000.00 元"),
        (5, "0.05 元"),
        (0, "0.00 元"),
        (-12_345, "-123.45 元"),
        (None, "—"),
    ],
)
def test_money_is_yuan_with_two_decimals_and_separators(flask_app: Flask, fen: Any, shown: str) -> None:
    with flask_app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert ui.money(fen) == shown


def test_money_in_english_and_other_currencies(flask_app: Flask) -> None:
    with flask_app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert ui.money(123_456_789) == "CNY 1,234,567.89"
        assert ui.money(100, "USD") == "1.00 USD"
        assert ui.money(99, unit=False) == "0.99"


def test_a_label_takes_its_language_colon_and_escapes(flask_app: Flask) -> None:
    source = "{{ _('Filed')|label }}{{ when }}|{{ name|label }}"
    assert render(flask_app, source, when="2027-01-04", name="<b>") == "提出时间：2027-01-04|&lt;b&gt;："
    assert render(flask_app, source, "en", when="2027-01-04", name="<b>") == "Filed: 2027-01-04|&lt;b&gt;: "


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KB"), (52_428_800, "50.0 MB"), (3 * 1024**3, "3.0 GB"), (None, "—")],
)
def test_sizes_are_kb_and_mb(size: Any, shown: str) -> None:
    assert ui.filesize(size) == shown


@pytest.mark.parametrize(
    ("fen", "capital"),
    [
        (0, "零元整"),
        (100, "壹元整"),
        (1000, "壹拾元整"),
        (138_000_000, "壹佰叁拾捌万元整"),
        (100_500, "壹仟零伍元整"),
        (101_000, "壹仟零壹拾元整"),
        (10_010_000, "壹拾万零壹佰元整"),
        (10_000_000_000, "壹亿元整"),
        (10_001_000_000, "壹亿零壹万元整"),
        (20_000_000_500, "贰亿零伍元整"),
        (1_000_000_000_000, "壹佰亿元整"),
        (140_950, "壹仟肆佰零玖元伍角"),
        (168_032, "壹仟陆佰捌拾元叁角贰分"),
        (105, "壹元零伍分"),
        (50, "伍角"),
        (5, "伍分"),
        (55, "伍角伍分"),
        (1_050_000_000_000, "壹佰零伍亿元整"),
        (12_345_678_901_234, "壹仟贰佰叁拾肆亿伍仟陆佰柒拾捌万玖仟零壹拾贰元叁角肆分"),
        (10**14, "壹万亿元整"),
        (-1_000, "负壹拾元整"),
    ],
)
def test_capital_amount_follows_the_settlement_rules(fen: int, capital: str) -> None:
    assert ui.capital_amount(fen) == capital


@pytest.mark.parametrize("bad", [10**14 + 1, -(10**14) - 1, 1.5, "100", True, None])
def test_capital_amount_refuses_what_it_cannot_write(bad: Any) -> None:
    with pytest.raises(ValueError):
        ui.capital_amount(bad)
    assert ui.capital(bad) == ""


def test_filters_in_a_template(flask_app: Flask) -> None:
    html = render(flask_app, "{{ 138000000 | money }}|{{ 52428800 | filesize }}")
    assert html == "1,380,000.00 元|50.0 MB"


# ---------------------------------------------------------------- states


from app.convenience.appointment_models import AppointmentStatus  # noqa: E402
from app.convenience.home_visit_models import HomeVisitStatus  # noqa: E402
from app.convenience.household import models as household_models  # noqa: E402
from app.convenience.interaction import models as interaction_models  # noqa: E402
from app.permits.cases import joint_models  # noqa: E402

STATE_ENUMS: dict[str, type[enum.Enum]] = {
    "tender": tendering_models.TenderStatus,
    "bid": tendering_models.BidOutcome,
    "envelope": tendering_models.EnvelopeOutcome,
    "upload": tendering_models.UploadStatus,
    "member": evaluation_models.MemberStatus,
    "expert": evaluation_models.ExpertStatus,
    "draw": evaluation_models.DrawStatus,
    "phase": evaluation_models.RoomPhase,
    "sheet": evaluation_models.SheetStatus,
    "report": evaluation_models.ReportStatus,
    "objection": evaluation_models.ObjectionStatus,
    "clarification": evaluation_models.ClarificationStatus,
    "recording": recordings_models.SessionStatus,
    "export": recordings_models.ExportStatus,
    "appointment": AppointmentStatus,
    "home_visit": HomeVisitStatus,
    "household_order": household_models.OrderStatus,
    "household_provider": household_models.ProviderStatus,
    "household_dispatch": household_models.DispatchOutcome,
    "interaction": interaction_models.Status,
    "interaction_kind": interaction_models.Kind,
    "interaction_channel": interaction_models.Channel,
    "permit_meeting": joint_models.MeetingStatus,
    "permit_attendance": joint_models.Attendance,
    "permit_inspection": joint_models.InspectionStatus,
    "permit_finding": joint_models.Finding,
}


@pytest.mark.parametrize("kind", sorted(STATE_ENUMS))
def test_every_state_has_a_chinese_label_and_a_colour(flask_app: Flask, kind: str) -> None:
    """A new enum member without an entry in ui.STATUSES fails here, instead of showing its code to a person."""
    values = {member.value for member in STATE_ENUMS[kind]}
    assert set(ui.STATUSES[kind]) == values
    colours = {"grey", "green", "turquoise", "blue", "light-blue", "purple", "pink", "red", "orange", "yellow"}
    with flask_app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        for value in values:
            info = ui.status_info(kind, STATE_ENUMS[kind](value))
            label = str(info.label)
            assert info.colour in colours
            assert label != value and not label.isascii(), f"{kind}.{value} has no Chinese label: {label!r}"


def test_status_tag_renders_a_coloured_tag_with_the_label(flask_app: Flask) -> None:
    source = '{% from "core/ui.html" import status_tag %}{{ status_tag("tender", status) }}'
    html = render(flask_app, source, status=tendering_models.TenderStatus.FAILED)
    assert parse(html).one("strong").get("class") == "govuk-tag govuk-tag--red"
    assert "流标（有效投标不足）" in html and "failed" not in html
    assert "Failed (too few valid bids)" in render(flask_app, source, lang="en", status="failed")


def test_an_unknown_state_is_shown_as_it_is_in_grey(flask_app: Flask) -> None:
    info = ui.status_info("tender", "archived")
    assert (info.label, info.colour) == ("archived", "grey")


# ---------------------------------------------------------------- fields and error summaries


class SampleForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField("Name", validators=[DataRequired()], description="As on the licence")
    agree = BooleanField("I agree")
    submit = SubmitField("Send")


def test_field_has_label_hint_and_error_linked_to_the_control(flask_app: Flask) -> None:
    with flask_app.test_request_context("/", method="POST", data={"name": ""}):
        form = SampleForm()
        assert not form.validate()
        html = render_template_string(
            '{% from "core/ui.html" import field, error_summary %}'
            "{{ error_summary(form, errors={'agree': ['Tick the box'], 'general': ['Try later']}) }}"
            "{{ field(form.name, autocomplete='name') }}{{ field(form.agree, {'agree': ['Tick the box']}) }}"
            "{{ field(form.submit) }}",
            form=form,
        )
    page = parse(html)
    control = page.by_id("name")
    assert control.get("class") == "govuk-input govuk-input--error"
    assert control.get("aria-describedby") == "name-hint name-error" and control.get("aria-invalid") == "true"
    assert control.get("autocomplete") == "name" and control.has_attr("required")  # WTForms renders the validators
    assert page.by_id("name-error").get("class") == "govuk-error-message"
    assert page.error_message("name") == "该字段是必填字段。"  # the default language is Chinese
    assert page.by_id("agree").get("class") == "govuk-checkboxes__input"
    assert page.by_id("submit").get("class") == "govuk-button"
    assert page.links() == ["#name", "#agree"]  # each message of the summary links to its field; 'general' has none
    assert page.error_summary is not None and "Try later" in page.error_summary.text


def test_error_summary_is_absent_without_errors(flask_app: Flask) -> None:
    with flask_app.test_request_context("/"):
        form = SampleForm(formdata=None)
        html = render_template_string(
            '{% from "core/ui.html" import error_summary %}{{ error_summary(form, errors={}) }}', form=form
        )
    assert html.strip() == ""


def test_post_button_carries_the_csrf_token(tmp_path: Path) -> None:
    app = create_app(test_config(tmp_path / "instance"))
    with app.test_request_context("/"):
        html = render_template_string(
            '{% from "core/ui.html" import post_button %}{{ post_button("/x", "撤销", kind="warning") }}'
        )
    form = parse(html).one("form")
    assert form.get("method") == "post" and form.get("action") == "/x"
    assert form.fields()["csrf_token"] and parse(html).csrf_token() == form.fields()["csrf_token"]
    assert "govuk-button--warning" in form.one("button").classes
