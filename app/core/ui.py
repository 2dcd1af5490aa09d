"""View helpers of the design system: GOV.UK Frontend's Jinja macros, display filters and state tags.

Templates import their page macros from `core/ui.html`; the filters here format what a person reads:
`money` (integer 分 → 元 with two decimals and thousands separators), `capital_amount` (分 → 大写金额 of
tender documents, 壹佰叁拾捌万元整), `filesize` (KB/MB), `center_time`
(app.core.views: the center's zone, named). `status_info(kind, value)` maps each state of the domain's
enumerations to a translated label and a tag colour, without importing the domain modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader
from markupsafe import Markup

# Tag colours of GOV.UK Frontend (`govuk-tag--<colour>`); None is the default dark blue tag.
GREY, GREEN, TURQUOISE, BLUE, LIGHT_BLUE, PURPLE, PINK, RED, ORANGE, YELLOW = (
    "grey",
    "green",
    "turquoise",
    "blue",
    "light-blue",
    "purple",
    "pink",
    "red",
    "orange",
    "yellow",
)


@dataclass(frozen=True)
class StatusInfo:
    label: Any  # a lazy string, translated when rendered
    colour: str


def _s(label: Any, colour: str) -> StatusInfo:
    return StatusInfo(label, colour)


# kind → value → (label, colour). The kinds name the enumerations of the domain modules; a test checks that
# every value of each enumeration has an entry here.
STATUSES: dict[str, dict[str, StatusInfo]] = {
    "tender": {  # app.tendering.models.TenderStatus
        "draft": _s(_l("Draft"), GREY),
        "published": _s(_l("Published"), GREEN),
        "opening": _s(_l("Opening in progress"), YELLOW),
        "opened": _s(_l("Opened"), BLUE),
        "failed": _s(_l("Failed (too few valid bids)"), RED),
        "cancelled": _s(_l("Cancelled"), GREY),
        "awarded": _s(_l("Awarded"), PURPLE),
    },
    "bid": {  # app.tendering.models.BidOutcome
        "pending": _s(_l("Sealed, waiting for the opening"), LIGHT_BLUE),
        "valid": _s(_l("Valid"), GREEN),
        "revoked": _s(_l("Revoked (bidder-caused)"), RED),
        "withdrawn": _s(_l("Withdrawn"), GREY),
        "eliminated": _s(_l("Eliminated"), ORANGE),
    },
    "envelope": {  # app.tendering.models.EnvelopeOutcome
        "sealed": _s(_l("Envelope sealed"), LIGHT_BLUE),
        "opened": _s(_l("Envelope opened"), GREEN),
        "failed": _s(_l("Envelope could not be opened"), RED),
    },
    "upload": {  # app.tendering.models.UploadStatus
        "open": _s(_l("Uploading"), YELLOW),
        "completed": _s(_l("Uploaded"), GREEN),
        "used": _s(_l("Part of a bid"), BLUE),
        "expired": _s(_l("Expired"), GREY),
    },
    "member": {  # app.evaluation.models.MemberStatus
        "reserve": _s(_l("Reserve"), GREY),
        "invited": _s(_l("Invited, waiting for your answer"), YELLOW),
        "confirmed": _s(_l("Confirmed"), GREEN),
        "declined": _s(_l("Declined"), GREY),
        "recused": _s(_l("Withdrawn (conflict of interest)"), ORANGE),
    },
    "expert": {  # app.evaluation.models.ExpertStatus
        "active": _s(_l("In the expert pool"), GREEN),
        "suspended": _s(_l("Suspended from the pool"), ORANGE),
        "blacklisted": _s(_l("Barred from the pool"), RED),
    },
    "draw": {  # app.evaluation.models.DrawStatus
        "committed": _s(_l("Seed committed, not yet drawn"), YELLOW),
        "performed": _s(_l("Drawn"), GREEN),
        "failed": _s(_l("Draw failed"), RED),
    },
    "phase": {  # app.evaluation.models.RoomPhase
        "review": _s(_l("Compliance and qualification review"), BLUE),
        "scoring": _s(_l("Scoring"), PURPLE),
        "finished": _s(_l("Finished"), GREEN),
    },
    "sheet": {  # app.evaluation.models.SheetStatus
        "draft": _s(_l("Draft"), GREY),
        "submitted": _s(_l("Submitted"), GREEN),
        "superseded": _s(_l("Superseded by a correction"), GREY),
    },
    "report": {  # app.evaluation.models.ReportStatus
        "signing": _s(_l("Being signed"), YELLOW),
        "final": _s(_l("Signed by every member"), GREEN),
    },
    "objection": {  # app.evaluation.models.ObjectionStatus
        "open": _s(_l("Open: the process is suspended"), RED),
        "answered": _s(_l("Answered"), GREEN),
    },
    "clarification": {  # app.evaluation.models.ClarificationStatus
        "open": _s(_l("Waiting for the bidder's answer"), YELLOW),
        "answered": _s(_l("Answered"), GREEN),
        "expired": _s(_l("Expired"), GREY),
    },
    "recording": {  # app.recordings.models.SessionStatus
        "pending": _s(_l("Waiting for the recorder"), YELLOW),
        "recording": _s(_l("Recording now"), RED),
        "closed": _s(_l("Recorded and sealed"), GREEN),
        "cancelled": _s(_l("Cancelled before recording"), GREY),
    },
    "gap": {  # recording.Gap.kind: what the recording lacks for that time
        "camera": _s(_l("No picture: the camera was lost"), RED),
        "audio": _s(_l("No sound: the microphone was lost"), YELLOW),
        "restart": _s(_l("Nothing recorded: the recorder restarted"), RED),
    },
    "export": {  # app.recordings.models.ExportStatus
        "pending": _s(_l("Being prepared"), YELLOW),
        "done": _s(_l("Ready"), GREEN),
        "failed": _s(_l("Export failed"), RED),
    },
    "token": {  # API tokens (app.accounts): derived from revoked_at and expires_at
        "active": _s(_l("Active"), GREEN),
        "expired": _s(_l("Expired"), GREY),
        "revoked": _s(_l("Revoked"), RED),
    },
    "permit_step": {  # app.permits.cases.processing_models.CaseStepStatus
        "pending": _s(_l("Not started"), GREY),
        "open": _s(_l("In progress"), BLUE),
        "done": _s(_l("Done"), GREEN),
        "skipped": _s(_l("Not needed"), GREY),
    },
    "permit_task": {  # app.permits.cases.processing_models.TaskStatus
        "open": _s(_l("Waiting for the department's answer"), YELLOW),
        "overdue": _s(_l("Overdue: no answer in time"), RED),
        "answered": _s(_l("Answered"), GREEN),
        "deemed": _s(_l("Deemed to consent (no answer in time)"), ORANGE),
    },
    "permit_meeting": {  # app.permits.cases.joint_models.MeetingStatus
        "scheduled": _s(_l("Joint meeting scheduled"), BLUE),
        "concluded": _s(_l("Decided on the spot, minutes sealed"), GREEN),
    },
    "permit_attendance": {  # app.permits.cases.joint_models.Attendance
        "pending": _s(_l("Attendance not recorded yet"), GREY),
        "present": _s(_l("Present"), GREEN),
        "absent": _s(_l("Absent"), RED),
    },
    "permit_inspection": {  # app.permits.cases.joint_models.InspectionStatus
        "scheduled": _s(_l("Site inspection scheduled"), BLUE),
        "completed": _s(_l("Site inspection complete"), GREEN),
    },
    "permit_finding": {  # app.permits.cases.joint_models.Finding
        "pass": _s(_l("Passed"), GREEN),
        "rectify": _s(_l("Rectification needed"), ORANGE),
        "fail": _s(_l("Failed"), RED),
    },
    "light": {  # app.supervision.models.Light
        "green": _s(_l("Green: in time"), GREEN),
        "yellow": _s(_l("Yellow light: reminder"), YELLOW),
        "red": _s(_l("Red light: warning"), RED),
    },
    "signal": {  # app.supervision.services.SignalStatus
        "awaiting_answer": _s(_l("Waiting for the explanation"), ORANGE),
        "awaiting_review": _s(_l("Explained: waiting for review"), BLUE),
        "accepted": _s(_l("Explanation accepted"), GREEN),
    },
    "rating_level": {  # app.convenience.rating.models.Level
        "very_satisfied": _s(_l("Very satisfied"), GREEN),
        "satisfied": _s(_l("Satisfied"), GREEN),
        "basic": _s(_l("Fairly satisfied"), TURQUOISE),
        "dissatisfied": _s(_l("Dissatisfied"), ORANGE),
        "very_dissatisfied": _s(_l("Very dissatisfied"), RED),
    },
    "rectification": {  # app.convenience.rating.models.TaskStatus
        "open": _s(_l("Being rectified"), YELLOW),
        "closed": _s(_l("Rectified and closed"), GREEN),
    },
    "rating_appeal": {  # app.convenience.rating.models.AppealStatus
        "pending": _s(_l("Waiting for a decision"), YELLOW),
        "upheld": _s(_l("Upheld: the rating is excluded"), GREEN),
        "rejected": _s(_l("Rejected: the rating counts"), GREY),
    },
    "household_order": {  # app.convenience.household.models.OrderStatus
        "dispatched": _s(_l("Sent to a provider, awaiting acknowledgement"), YELLOW),
        "accepted": _s(_l("Accepted by the provider"), BLUE),
        "completed": _s(_l("Service completed"), GREEN),
        "unassigned": _s(_l("Unassigned: with the center"), RED),
    },
    "household_provider": {  # app.convenience.household.models.ProviderStatus
        "active": _s(_l("Active: receives orders"), GREEN),
        "suspended": _s(_l("Suspended from dispatch"), ORANGE),
        "withdrawn": _s(_l("Left the platform"), GREY),
    },
    "household_dispatch": {  # app.convenience.household.models.DispatchOutcome
        "pending": _s(_l("Awaiting acknowledgement"), YELLOW),
        "accepted": _s(_l("Accepted the order"), GREEN),
        "declined": _s(_l("Declined"), ORANGE),
        "timed_out": _s(_l("Not acknowledged in time"), RED),
        "withdrawn": _s(_l("Withdrawn: the provider was suspended"), GREY),
    },
    "interaction": {  # app.convenience.interaction.models.Status
        "received": _s(_l("Received (受理)"), BLUE),
        "dispatched": _s(_l("Dispatched (调度)"), TURQUOISE),
        "handling": _s(_l("Being handled (办理)"), YELLOW),
        "replied": _s(_l("Replied (回复)"), PURPLE),
        "closed": _s(_l("Closed (办结)"), GREEN),
        "called_back": _s(_l("Called back (回访)"), GREEN),
    },
    "interaction_kind": {  # app.convenience.interaction.models.Kind
        "complaint": _s(_l("Complaint (投诉)"), RED),
        "suggestion": _s(_l("Suggestion (建议)"), BLUE),
        "consultation": _s(_l("Consultation (咨询)"), TURQUOISE),
        "help": _s(_l("Help request (求助)"), ORANGE),
    },
    "interaction_channel": {  # app.convenience.interaction.models.Channel
        "web": _s(_l("Web form"), GREY),
        "hotline": _s(_l("Hotline"), GREY),
        "email": _s(_l("E-mail"), GREY),
        "forum": _s(_l("Forum"), GREY),
        "open311": _s(_l("Open311 app"), GREY),
    },
    "home_visit": {  # app.convenience.home_visit_models.HomeVisitStatus
        "requested": _s(_l("Waiting to be scheduled"), YELLOW),
        "scheduled": _s(_l("Visit scheduled"), BLUE),
        "completed": _s(_l("Done"), GREEN),
        "declined": _s(_l("Declined by the center"), RED),
        "cancelled": _s(_l("Withdrawn"), GREY),
    },
    "callback": {  # app.convenience.rating.models.CallOutcome
        "reached": _s(_l("Reached"), GREEN),
        "not_reached": _s(_l("Not reached"), GREY),
    },
    "appointment": {  # app.convenience.appointment_models.AppointmentStatus
        "booked": _s(_l("Booked"), BLUE),
        "checked_in": _s(_l("Checked in"), GREEN),
        "cancelled": _s(_l("Appointment cancelled"), GREY),
        "no_show": _s(_l("Did not come"), RED),
    },
}


def status_info(kind: str, value: Any) -> StatusInfo:
    """The label and colour of `value` (an enum member or its string) of the enumeration `kind`.

    An unknown value is shown as it is, in a grey tag, rather than failing the page; tests keep the table whole.
    """
    raw = value.value if isinstance(value, Enum) else value
    raw = "" if raw is None else str(raw)
    found = STATUSES.get(kind, {}).get(raw)
    return found if found is not None else StatusInfo(raw or "—", GREY)


def money(amount_fen: Any, currency: str | None = "CNY", unit: bool = True) -> str:
    """Integer 分 as 元 with two decimals and thousands separators: 138000000 → '1,380,000.00 元'.

    None is '—'. A currency other than CNY keeps its code after the number.
    """
    if amount_fen is None or amount_fen == "":
        return "—"
    try:
        fen = int(amount_fen)
    except (TypeError, ValueError):
        return str(amount_fen)
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    number = f"{sign}{yuan:,}.{cents:02d}"
    if not unit:
        return number
    if currency in (None, "", "CNY", "RMB"):
        return f"{number} 元" if _is_chinese() else f"CNY {number}"
    return f"{number} {currency}"


_DIGITS_CN = "零壹贰叁肆伍陆柒捌玖"
_PLACES_CN = ("仟", "佰", "拾", "")
_SECTIONS_CN = ("万亿", "亿", "万", "")
MAX_CAPITAL_FEN = 10**12 * 100  # 壹万亿元整: the largest amount written in capitals


def _section_cn(value: int) -> str:
    """0 < value < 10000 in capitals, zeros inside collapsed to one 零 and none at the end: 1010 → 壹仟零壹拾."""
    out: list[str] = []
    zero = False
    for place, digit in zip(_PLACES_CN, f"{value:04d}", strict=True):
        if digit == "0":
            zero = bool(out)
        else:
            if zero:
                out.append("零")
            out.append(_DIGITS_CN[int(digit)] + place)
            zero = False
    return "".join(out)


def capital_amount(amount_fen: Any) -> str:
    """Integer 分 as the Chinese capital amount (大写金额) of tender documents: 138000000 → 壹佰叁拾捌万元整.

    The rules of the People's Bank's settlement measures (支付结算办法): 整 after 元 when there are no 角 and
    分, none after 角 or 分; zeros between digits written once as 零 (1,005 → 壹仟零伍元整; 100,010,000 →
    壹亿零壹万元整); 0 → 零元整; a negative amount starts with 负. Up to 10^12 元; anything larger, or not an
    integer, raises ValueError.
    """
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise ValueError("an amount in fen is an integer")
    if abs(amount_fen) > MAX_CAPITAL_FEN:
        raise ValueError("at most 10^12 yuan can be written in capitals")
    sign = "负" if amount_fen < 0 else ""
    yuan, cents = divmod(abs(amount_fen), 100)
    jiao, fen = divmod(cents, 10)
    words: list[str] = []
    zero = False
    sections = [(yuan // 10 ** (4 * i)) % 10000 for i in range(3, -1, -1)]
    for value, unit in zip(sections, _SECTIONS_CN, strict=True):
        if value == 0:
            zero = bool(words)
            continue
        if words and (zero or value < 1000):
            words.append("零")
        words.append(_section_cn(value) + unit)
        zero = False
    if not words and cents:
        # Under one yuan: only 角 and 分 (0.05 → 伍分).
        return sign + (_DIGITS_CN[jiao] + "角" if jiao else "") + (_DIGITS_CN[fen] + "分" if fen else "")
    text = "".join(words) or "零"
    text += "元"
    if not cents:
        return sign + text + "整"
    if jiao:
        text += _DIGITS_CN[jiao] + "角"
    elif fen:
        text += "零"  # 1.05 → 壹元零伍分
    if fen:
        text += _DIGITS_CN[fen] + "分"
    return sign + text


def capital(amount_fen: Any) -> str:
    """The template filter: capital_amount, or '' for None or an amount that cannot be written in capitals."""
    try:
        return capital_amount(amount_fen)
    except ValueError:
        return ""


def filesize(size: Any) -> str:
    """Bytes as B, KB, MB or GB (1 KB = 1024 B), one decimal above bytes: 52428800 → '50.0 MB'."""
    if size is None or size == "":
        return "—"
    try:
        n = int(size)
    except (TypeError, ValueError):
        return str(size)
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit_name in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit_name == "TB":
            return f"{value:,.1f} {unit_name}"
    return f"{n} B"  # pragma: no cover - the loop always returns


def _is_chinese() -> bool:
    try:
        return str(get_locale() or "zh_CN").startswith("zh")
    except RuntimeError:  # outside a request: the platform's default language
        return True


def labelled(text: Any) -> Markup:
    """A label before its value: 「提出时间：」 in Chinese (the full-width colon), "Filed: " in English."""
    return Markup("{}{}").format(text, "：" if _is_chinese() else ": ")


def center_name(config: dict[str, Any]) -> str:
    return str(config["CENTER_NAME"] if _is_chinese() else config.get("CENTER_NAME_EN") or config["CENTER_NAME"])


def init_app(app: Flask) -> None:
    """GOV.UK Frontend's Jinja macros (govuk-frontend-jinja) and WTForms helpers (govuk-frontend-wtf)."""
    loader = app.jinja_loader
    assert loader is not None
    app.jinja_loader = ChoiceLoader(  # type: ignore[assignment]
        [
            loader,
            # The packages' templates import each other as 'govuk_frontend_jinja/components/…'.
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    WTFormsHelpers(app)  # `wtforms_errors(form)`: a form's errors as an error summary's list, linked to each field
    app.add_template_filter(money, "money")
    app.add_template_filter(capital, "capital_amount")
    app.add_template_filter(filesize, "filesize")
    app.add_template_filter(labelled, "label")
    app.add_template_global(status_info, "status_info")
    app.add_template_global(lambda: center_name(app.config), "center_name")
