"""Reading pages in tests: the HTML parsed into a tree of elements (the standard library's html.parser), then
selected by id, tag, class or attribute. Assertions name what a reader sees (an element's text, a table's rows,
a form's fields, the links) instead of matching the markup with regular expressions.

    doc = parse(resp)                                   # a response, bytes or a string
    doc.by_id("share-text").text                        # the text inside, whitespace collapsed
    doc.select("tr", data_seat=True)                    # every <tr> that has a data-seat attribute
    doc.one("a", cls="govuk-link", href="/x").get("id") # exactly one match, or the test fails saying so
    doc.table("ranking")                                # rows of cell texts: [[header…], [cells…], …]
    doc.form("tender-form").fields()                    # what the browser would submit
    doc.csrf_token(), doc.links(), doc.error_summary, doc.error_message("title")
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)
HIDDEN = frozenset({"script", "style", "template"})  # their text is not part of the text around them
NOT_SENT = frozenset({"submit", "button", "reset", "image", "file"})


class Element:
    """One element: its tag, attributes (valueless ones as ""), children (elements and strings) and parent."""

    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None = None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Element | str] = []

    def __repr__(self) -> str:
        shown = " ".join(f'{k}="{v}"' for k, v in self.attrs.items())
        return f"<{self.tag}{' ' if shown else ''}{shown}>"

    # ------------------------------------------------------------------ attributes

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    def has_attr(self, name: str) -> bool:
        return name in self.attrs

    @property
    def id(self) -> str | None:
        return self.attrs.get("id")

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    # ------------------------------------------------------------------ text

    @property
    def raw_text(self) -> str:
        """Every string inside, as written (a script's or a text area's content)."""
        return "".join(c if isinstance(c, str) else c.raw_text for c in self.children)

    @property
    def text(self) -> str:
        """The text a reader sees inside, whitespace collapsed (scripts and styles left out, except their own)."""
        if self.tag in HIDDEN:
            return self.raw_text.strip()
        return " ".join(" ".join(self.strings()).split())

    def strings(self) -> Iterator[str]:
        """Every text node inside, as written, in order (scripts, styles and templates left out)."""
        for child in self.children:
            if isinstance(child, str):
                yield child
            elif child.tag not in HIDDEN:
                yield from child.strings()

    # ------------------------------------------------------------------ selection

    def iter(self) -> Iterator[Element]:
        """Every element inside, in document order."""
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def select(
        self,
        tag: str | None = None,
        *,
        id: str | None = None,
        cls: str | None = None,
        attrs: dict[str, str | bool] | None = None,
        **kw: str | bool,
    ) -> list[Element]:
        """The elements inside that match: the tag, the id, one class, and attributes (`data_bid="x"` means
        data-bid="x", `True` only that the attribute is present; `attrs=` for names that are not identifiers)."""
        wanted: dict[str, str | bool] = {k.replace("_", "-"): v for k, v in kw.items()}
        wanted.update(attrs or {})
        if id is not None:
            wanted["id"] = id
        found = []
        for el in self.iter():
            if tag is not None and el.tag != tag:
                continue
            if cls is not None and cls not in el.classes:
                continue
            if all(
                (name in el.attrs)
                if value is True
                else (name not in el.attrs)
                if value is False
                else el.attrs.get(name) == value
                for name, value in wanted.items()
            ):
                found.append(el)
        return found

    def first(self, tag: str | None = None, **kw: Any) -> Element | None:
        found = self.select(tag, **kw)
        return found[0] if found else None

    def one(self, tag: str | None = None, **kw: Any) -> Element:
        """The only element that matches; fails the test when there are none or several."""
        found = self.select(tag, **kw)
        assert len(found) == 1, f"expected one {tag or 'element'} {kw}, found {len(found)}: {found[:5]}"
        return found[0]

    def by_id(self, element_id: str) -> Element:
        found = self.select(id=element_id)
        assert found, f"no #{element_id} on the page"
        return found[0]

    def has(self, element_id: str) -> bool:
        return bool(self.select(id=element_id))

    def texts(self, tag: str | None = None, **kw: Any) -> list[str]:
        """The text of every matching element."""
        return [el.text for el in self.select(tag, **kw)]

    # ------------------------------------------------------------------ tables, links, forms

    def rows(self) -> list[list[str]]:
        """This table's (or table section's) rows, each a list of its cells' texts (th and td alike)."""
        return [
            [cell.text for cell in tr.select() if cell.tag in ("td", "th") and _row_of(cell) is tr]
            for tr in self.select("tr")
        ]

    def links(self) -> list[str]:
        """The href of every link inside, in order."""
        return [a.attrs["href"] for a in self.select("a", href=True)]

    def fields(self) -> dict[str, Any]:
        """What a browser would submit from the controls inside: text inputs and hidden ones, checked boxes and
        radios, text areas, each select's chosen option (or its first). A name given more than once is a list."""
        out: dict[str, Any] = {}

        def put(name: str, value: str) -> None:
            if name in out:
                out[name] = [*out[name], value] if isinstance(out[name], list) else [out[name], value]
            else:
                out[name] = value

        for el in self.iter():
            name = el.attrs.get("name")
            if not name or el.has_attr("disabled"):
                continue
            if el.tag == "input":
                kind = el.attrs.get("type", "text").lower()
                if kind in NOT_SENT:
                    continue
                if kind in ("checkbox", "radio"):
                    if el.has_attr("checked"):
                        put(name, el.attrs.get("value") or "on")
                    continue
                put(name, el.attrs.get("value", ""))
            elif el.tag == "textarea":
                put(name, el.raw_text.removeprefix("\r\n").removeprefix("\n"))
            elif el.tag == "select":
                options = el.select("option")
                chosen = [o for o in options if o.has_attr("selected")] or options[:1]
                for option in chosen:
                    put(name, option.attrs.get("value", option.text))
        return out


def _matches(el: Element, name: str, value: str | bool) -> bool:
    if value is True:
        return name in el.attrs
    if value is False:
        return name not in el.attrs
    return el.attrs.get(name) == value


def _row_of(cell: Element) -> Element | None:
    parent = cell.parent
    while parent is not None and parent.tag != "tr":
        parent = parent.parent
    return parent


class Document(Element):
    """A whole page."""

    def __init__(self, html: str) -> None:
        super().__init__("#document", {})
        _Builder(self).feed_all(html)

    def table(self, element_id: str) -> list[list[str]]:
        """The rows of cell texts of the table with this id, its header row first."""
        return self.by_id(element_id).rows()

    def form(self, element_id: str | None = None, **kw: Any) -> Element:
        """The form with this id (or matching `kw`; with neither, the page's only form)."""
        if element_id is not None:
            return self.one("form", id=element_id)
        return self.one("form", **kw)

    def csrf_token(self) -> str:
        """The CSRF token: the page's <meta name="csrf-token"> or a form's hidden csrf_token field."""
        meta = self.first("meta", name="csrf-token")
        if meta is not None and meta.get("content"):
            return str(meta.get("content"))
        field = self.first("input", name="csrf_token")
        assert field is not None and field.get("value"), "no CSRF token on the page"
        return str(field.get("value"))

    @property
    def error_summary(self) -> Element | None:
        """The GOV.UK error summary at the top of the page, if there is one."""
        return self.first(cls="govuk-error-summary")

    def error_message(self, field_id: str) -> str:
        """The message shown next to a field (core/ui.html field(): #ID-error, without the hidden "Error:")."""
        el = self.by_id(f"{field_id}-error")
        hidden = " ".join(t.text for t in el.select(cls="govuk-visually-hidden"))
        return el.text.removeprefix(hidden).strip()

    @property
    def tags(self) -> list[tuple[str, dict[str, str]]]:
        """Every element as (tag, attributes), in document order."""
        return [(el.tag, el.attrs) for el in self.iter()]


class _Builder(HTMLParser):
    def __init__(self, root: Document) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[Element] = [root]

    def feed_all(self, html: str) -> None:
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self.stack[-1]
        el = Element(tag, {k: v or "" for k, v in attrs}, parent)
        parent.children.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self.stack[-1]
        parent.children.append(Element(tag, {k: v or "" for k, v in attrs}, parent))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):  # close the nearest open one; a stray end tag is ignored
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(source: Any) -> Document:
    """A page from a response (anything with get_data), bytes or a string."""
    if hasattr(source, "get_data"):
        source = source.get_data(as_text=True)
    if isinstance(source, bytes):
        source = source.decode()
    return Document(str(source))
