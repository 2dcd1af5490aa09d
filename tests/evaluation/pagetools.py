"""Reading the evaluation's agency and admin pages in tests: elements by id, their text, the error summary.
Thin over tests/html.py (the one HTML reader of the tests)."""

from __future__ import annotations

from typing import Any

from tests.accounts.helpers import login, make_user
from tests.html import Document
from tests.tendering.helpers import World

EN = {"Accept-Language": "en-US,en;q=0.9"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


class Page:
    """The older reading of a page, kept for the tests that use it; new tests use tests/html.py directly."""

    def __init__(self, html: str) -> None:
        self.doc = Document(html)
        self.tags = self.doc.tags

    def text(self, element_id: str) -> str:
        return self.doc.by_id(element_id).text

    def has(self, element_id: str) -> bool:
        return self.doc.has(element_id)

    def with_attr(self, name: str, value: str | None = None) -> list[dict[str, str]]:
        return [el.attrs for el in self.doc.select(attrs={name: True if value is None else value})]

    def classed(self, cls: str) -> list[dict[str, str]]:
        return [el.attrs for el in self.doc.select(cls=cls)]

    @property
    def error_summary(self) -> bool:
        return self.doc.error_summary is not None

    @property
    def body(self) -> str:
        return " ".join(self.doc.raw_text.split())  # every string on the page, scripts too


def page(resp: Any) -> Page:
    return Page(resp.get_data(as_text=True))


def signed_in(world: World, username: str, roles: list[str], org_id: int | None = None) -> Any:
    """A browser session (through the sign-in form, with TOTP for the staff roles)."""
    totp = any(r in {"agency", "admin", "auditor", "supervisor"} for r in roles)
    _uid, secret = make_user(world.app, username, roles, totp=totp, organisation_id=org_id)
    client = world.app.test_client()
    resp = login(client, username, totp_secret=secret)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return client
