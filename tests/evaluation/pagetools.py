"""Reading the evaluation's agency and admin pages in tests: elements by id, their text, the error summary."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from tests.accounts.helpers import login, make_user
from tests.tendering.helpers import World

EN = {"Accept-Language": "en-US,en;q=0.9"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """Every element's attributes, and the text inside each element that has an id."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.texts: dict[str, list[str]] = {}
        self.stack: list[str | None] = []
        self.all_text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.append((tag, found))
        if tag in VOID:
            return
        self.stack.append(found.get("id"))
        if found.get("id"):
            self.texts.setdefault(found["id"], [])

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.all_text.append(data)
        for element_id in self.stack:
            if element_id:
                self.texts[element_id].append(data)

    def text(self, element_id: str) -> str:
        return " ".join(" ".join(self.texts[element_id]).split())

    def has(self, element_id: str) -> bool:
        return element_id in self.texts or any(a.get("id") == element_id for _t, a in self.tags)

    def with_attr(self, name: str, value: str | None = None) -> list[dict[str, str]]:
        return [a for _t, a in self.tags if name in a and (value is None or a[name] == value)]

    def classed(self, cls: str) -> list[dict[str, str]]:
        return [a for _t, a in self.tags if cls in a.get("class", "").split()]

    @property
    def error_summary(self) -> bool:
        return bool(self.classed("govuk-error-summary"))

    @property
    def body(self) -> str:
        return " ".join(" ".join(self.all_text).split())


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
