"""Every HTML page a person reaches, rendered in zh-CN for each role, shows no English and no internal code.

The pages are the GET routes of the app's url_map outside /api/, with the ids of a seeded scenario (a published
tender and an opened one with its bids). Each role signs in through the form and asks with
`Accept-Language: zh-CN`; every answer that is an HTML page (200 or an error page) is parsed, and its visible
text (not <script>, <style>, <code>, <pre>, nor user-entered data) must hold no English word outside the
allowlist of names and units. Pages whose URL needs an id the scenario does not make are listed in SKIPPED.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask

from app.accounts.models import ApiToken, Organisation, User
from app.core.errors import is_api_path
from app.evaluation.models import Specialty
from app.extensions import db
from app.tendering.models import Tender
from tests.accounts.helpers import login, make_user
from tests.browser.scenes import seed_floors
from tests.evaluation.helpers import browser, enrol, opened_tender
from tests.tendering.helpers import World, create_published

# Names, units and formats that are words in Chinese pages too.
ALLOWED = {
    "PDF", "JSON", "API", "SHA", "URL", "HLS", "MP4", "TOTP", "CNY", "KB", "MB", "GB", "TB", "UTC", "ID", "IDs",
    "age", "X25519", "HTTPS", "HTTP", "CSV", "QR", "Schema", "JSON Schema", "RFC", "S3", "CA", "USCC", "OK",
    "Merkle", "Ed25519", "Content-Range", "Content-Length", "Bearer", "UTF-8", "Unicode", "Chrome", "Firefox",
    "Safari", "Edge", "English", "EN", "CN", "zh", "en", "GOV", "UK", "B", "OpenAPI", "Asia/Shanghai", "YAML",
    "Google", "Microsoft", "Authenticator", "FreeOTP", "txt", "pdf", "zip", "ZIP", "JPEG", "PNG", "OFD",
    "chinesecalendar",
}  # fmt: skip
WORD = re.compile(r"[A-Za-z][A-Za-z'/\-]*[A-Za-z]|[A-Za-z]")
SKIP_TAGS = {"script", "style", "code", "pre", "kbd", "samp", "textarea", "template"}
# Words a page shows on purpose, by endpoint; a word not listed here fails the test.
# The bid-form editor names the key the agency types for the required price field.
KNOWN: dict[str, set[str]] = {"tendering.agency_tender_new": {"price"}}
# Code a page names on purpose: the members of RFC 9457 problem JSON, explained to API clients.
KNOWN["core.problem_type"] = {"application/problem", "json", "type", "detail", "errors"}
KNOWN["permits_catalogue_admin.admin_catalogue"] = {"catalogue", "json"}  # the bundle's file name, catalogue.json
# A message to a citizen carries the link to their matter's page (http://…/convenience/home-visits/<secret>, the
# permits tracking page http://…/permits/track/<number>/<secret>).
KNOWN["convenience.outbox"] = {"http", "localhost", "convenience/home-visits", "localhost/permits/track"}
# Routes whose arguments the scenario does not make (yet), by endpoint.
SKIPPED: dict[str, str] = {}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP_TAGS:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.parts


def english_words(texts: list[str], data: set[str]) -> set[str]:
    found = set()
    for original in texts:
        text = original
        for known in sorted(data, key=len, reverse=True):  # user-entered data, longest first
            text = text.replace(known, " ")
        for word in WORD.findall(text):
            # a ticket class is a capital letter (A 社会保障与医疗保险, A001)
            if word in ALLOWED or re.fullmatch(r"[0-9a-fA-F]{6,}|[A-Z]", word):
                continue
            found.add(word)
    return found


def user_data(app: Flask) -> set[str]:
    """What people typed: user names, display names, organisation and tender names, envelope names."""
    values: set[str] = set()
    with app.app_context():
        for user in db.session.scalars(db.select(User)):
            values.update(v for v in (user.username, getattr(user, "display_name", None)) if v)
        for org in db.session.scalars(db.select(Organisation)):
            values.update(v for v in (org.name, getattr(org, "uscc", None)) if v)
        for tender in db.session.scalars(db.select(Tender)):
            values.update(v for v in (tender.title, tender.reference, tender.description) if v)
        values.update(db.session.scalars(db.select(ApiToken.name)))
        values.update(db.session.scalars(db.select(Specialty.name_en)))  # the administrators' English names
        from app.permits.cases.models import Application

        values.update(db.session.scalars(db.select(Application.number)))  # SQ20261207-7F3K2Q: a reference
        values.update(db.session.scalars(db.select(Application.tracking_token)))  # the secret in a notice's link
        for application in db.session.scalars(db.select(Application)):  # what the applicant typed
            values.update([application.applicant_code, *map(str, application.answers.values())])
        from app.convenience.models import Ticket
        from app.permits.catalogue.models import Item

        values.update(db.session.scalars(db.select(Item.code)))  # HDZJ-FW-001: the catalogue's item codes
        values.update(db.session.scalars(db.select(Ticket.number)))  # A001
        from app.convenience.appointment_models import Appointment

        values.update(db.session.scalars(db.select(Appointment.reference)))  # K7M2Q9XA, keyed in at the kiosk
        from app.convenience.household.models import Order, Provider
        from app.convenience.interaction.models import InteractionRequest

        values.update(db.session.scalars(db.select(InteractionRequest.reference)))  # HD20261207-7F3K2Q
        values.update(db.session.scalars(db.select(Order.reference)))  # JZ20261207-7F3K2Q
        values.update(db.session.scalars(db.select(Provider.name)))
        from app.permits.bundle.models import BundleCase
        from app.permits.fees.models import FeeBill

        values.update(db.session.scalars(db.select(BundleCase.number)))  # LB…: a joint registration's reference
        values.update(db.session.scalars(db.select(FeeBill.number)))  # JF…: a fee bill's number
        from app.convenience.home_visit_models import HomeVisit

        for visit in db.session.scalars(db.select(HomeVisit)):  # SM20261207001, and what the citizen typed
            values.update([visit.reference, visit.name, visit.address, visit.details, visit.public_id])
    return {v for v in values if isinstance(v, str) and v.strip()}


def html_pages(app: Flask, ids: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(endpoint, url) of every GET page outside the API whose arguments the scenario provides."""
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in (rule.methods or set()) or is_api_path(rule.rule) or rule.rule.startswith("/static/"):
                continue
            if rule.endpoint in {"static"} or rule.endpoint.endswith(".static"):
                continue
            args = {}
            blueprint = rule.endpoint.rsplit(".", 1)[0]
            for name in rule.arguments:  # a blueprint's own value first (a receipt's number is not an application's)
                value = ids.get(f"{blueprint}:{name}", ids.get(name))
                if value is None:
                    SKIPPED.setdefault(rule.endpoint, f"needs {name}")
                    break
                args[name] = value
            else:
                yield rule.endpoint, url_for(rule.endpoint, **args)


@pytest.fixture
def scenario(world: World, clock: Any) -> dict[str, Any]:
    published = create_published(world)
    opened = opened_tender(world, clock)
    assert world.bidders[0]
    expert_id, _party = enrol(world, "zh-expert", ["civil"])
    # the permits and convenience floors as make run seeds them: a called ticket, applications in every state
    ticket_page, tracking_page, *_fees_and_bundle = seed_floors(world.app)
    _track, number, token = tracking_page.rsplit("/", 2)
    with world.app.app_context():
        from app.permits.cases.models import Application

        application = db.session.scalar(db.select(Application).where(Application.number == number))
        assert application is not None
        from app.convenience.appointment_models import Appointment
        from app.permits.cases.joint_models import Inspection, JointMeeting
        from app.permits.cases.processing_models import DepartmentTask
        from app.supervision.models import Signal

        floors = {
            "application_id": application.id,
            "code": application.item.code,
            "permits_cases:number": number,
            "convenience_rating:number": number,
            "reference": db.session.scalar(db.select(Appointment.reference).limit(1)),
            "permits_processing:task_id": db.session.scalar(db.select(DepartmentTask.id).limit(1)),
            "signal_id": db.session.scalar(db.select(Signal.id).limit(1)),
            "meeting_id": db.session.scalar(db.select(JointMeeting.id).limit(1)),
            "inspection_id": db.session.scalar(db.select(Inspection.id).limit(1)),
        }
    return {
        **floors,
        "token": token,
        "public_id": ticket_page.rsplit("/", 1)[1],
        "tracking_id": ticket_page.rsplit("/", 1)[1],
        "window_id": 1,
        "expert_id": expert_id,
        "tender_id": opened["id"],
        "published_id": published["id"],
        "stage": 1,
        "slug": "validation-failed",
        "role_id": 1,
        "user_id": world.bidders[0].user_id,
    }


def _clients(world: World) -> Iterator[tuple[str, Any]]:
    """A signed-in test client per role (the TOTP step done for the roles that need it), and an anonymous one."""
    yield "anonymous", world.app.test_client()
    yield "bidder", browser(world, world.bidders[0].user_id)
    window = world.app.test_client()  # the convenience floor's window staff (tests/browser/scenes.py)
    assert login(window, "window_staff").status_code == 303
    yield "window", window
    for role, org_id in (("agency", world.agency.org_id), ("admin", None), ("auditor", None), ("supervisor", None)):
        _user_id, secret = make_user(world.app, f"zh-{role}", [role], totp=True, organisation_id=org_id)
        client = world.app.test_client()
        assert login(client, f"zh-{role}", totp_secret=secret).status_code == 303
        yield role, client


def test_every_page_reads_in_chinese(world: World, scenario: dict[str, Any]) -> None:
    """On both engines: this walk is also where every page's own queries run on PostgreSQL (the pages' other tests
    run on SQLite only), so a server error on any page fails it too."""
    app = world.app
    clients = list(_clients(world))
    data = user_data(app)
    problems: dict[str, set[str]] = {}
    seen = 0
    for role, client in clients:
        for endpoint, url in html_pages(app, scenario):
            resp = client.get(url, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
            if resp.status_code >= 500:
                problems[f"{role} {resp.status_code} {url} ({endpoint})"] = {"server error"}
                continue
            if resp.mimetype != "text/html" or resp.status_code in {301, 302, 303}:
                continue
            seen += 1
            words = english_words(visible_text(resp.get_data(as_text=True)), data) - KNOWN.get(endpoint, set())
            if words:
                problems[f"{role} {resp.status_code} {url} ({endpoint})"] = words
    assert seen > 40, "the walk reached too few pages"
    report = "\n".join(f"{page}: {' '.join(sorted(words))}" for page, words in sorted(problems.items()))
    assert not problems, f"English on zh-CN pages:\n{report}\n(skipped: {SKIPPED})"
    for endpoint in (
        "supervision.signal",
        "supervision.person",
        "supervision.permits_case",
        "convenience.appointment",
        "convenience_rating.rate_ticket",
    ):
        assert endpoint not in SKIPPED, SKIPPED[endpoint]  # the floors' data reached these pages
