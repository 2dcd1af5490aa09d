"""The page-reading helper (tests/html.py) reads what a browser would: text, tables, forms, links, tokens."""

from __future__ import annotations

from tests.html import parse

PAGE = """<!doctype html><html><head><meta name="csrf-token" content="tok&amp;1">
<script type="application/json" id="cfg">{"a": "<b>"}</script></head><body>
<div id="box" class="x govuk-error-summary"><p>Hello <b>big</b>
 world &amp; more</p><br><img src=x alt=""></div>
<table id="t"><thead><tr><th>Name</th><th>Price</th></tr></thead>
<tbody>
<tr data-bid="b1"><td>A <span>Co</span></td><td>1.00</td></tr>
<tr data-bid="b2"><td>B</td><td>2.00</td></tr></tbody></table>
<form id="f" method="post"><input type="hidden" name="csrf_token" value="t2">
<input name="title" value="a &quot;b&quot;">
<input type="checkbox" name="agree" checked><input type="checkbox" name="no" value="n">
<input type="radio" name="r" value="1">
<input type="radio" name="r" value="2" checked><input type="submit" name="go" value="Go"><input type="file" name="doc">
<textarea name="body">
line 1
line 2</textarea><select name="s"><option value="1">one</option><option value="2" selected>two</option></select>
<select name="plain"><option>first</option><option>second</option></select>
<input name="tags" value="a"><input name="tags" value="b"><input name="off" value="x" disabled></form>
<p id="title-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> Enter a title</p>
<a href="/one">1</a><a id="two" href="/two" data-action="go">2</a><a>none</a>
</body></html>"""


def test_text_is_what_a_reader_sees_with_whitespace_collapsed() -> None:
    doc = parse(PAGE)
    assert doc.by_id("box").text == "Hello big world & more"
    assert "{" not in doc.one("body").text  # scripts are left out of the text around them


def test_a_script_keeps_its_own_text() -> None:
    assert parse(PAGE).by_id("cfg").text == '{"a": "<b>"}'


def test_select_by_tag_class_and_attribute() -> None:
    doc = parse(PAGE)
    assert [el.get("data-bid") for el in doc.select("tr", data_bid=True)] == ["b1", "b2"]
    assert doc.one("tr", data_bid="b2").text == "B 2.00"
    assert doc.one(cls="govuk-error-summary") is doc.error_summary
    assert doc.first("a", attrs={"data-action": "go"}) is doc.by_id("two")
    assert doc.has("two") and not doc.has("three")
    assert ("img", {"src": "x", "alt": ""}) in doc.tags


def test_table_rows_are_lists_of_cell_texts() -> None:
    assert parse(PAGE).table("t") == [["Name", "Price"], ["A Co", "1.00"], ["B", "2.00"]]


def test_form_fields_are_what_the_browser_submits() -> None:
    assert parse(PAGE).form("f").fields() == {
        "csrf_token": "t2",
        "title": 'a "b"',
        "agree": "on",
        "r": "2",
        "body": "line 1\nline 2",
        "s": "2",
        "plain": "first",
        "tags": ["a", "b"],
    }


def test_csrf_token_links_and_error_messages() -> None:
    doc = parse(PAGE)
    assert doc.csrf_token() == "tok&1"
    assert parse(str(doc.form("f"))).error_summary is None
    assert doc.links() == ["/one", "/two"]
    assert doc.error_message("title") == "Enter a title"


def test_a_page_without_a_meta_token_reads_the_forms_field() -> None:
    assert parse('<form><input name="csrf_token" type="hidden" value="abc"></form>').csrf_token() == "abc"
