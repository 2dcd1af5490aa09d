"""Every message a service raises is marked for translation where it is raised, and the zh-CN catalogue has it.

The test reads app/ as syntax trees. A "raise site" is a call of DomainError or one of its subclasses (found by
following class bases across app/), or of a helper that passes one of its own parameters on as the message of
such a call (`_fail(field, message)`, `refuse(..., detail)`, `get_row(..., missing)`; found the same way). The
message of every raise site must be `N_("a literal")` with its values in `params={...}` under the names of its
placeholders, or a parameter of the enclosing helper. Messages that come from another library's exception
(`str(exc)`) are listed below with the reason; the list can only shrink.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from flask import Flask

from app.core.errors import ValidationFailed
from app.core.problems import N_

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
PO = APP / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
BASES = {"DomainError", "ValidationFailed", "NotAuthenticated", "PermissionDenied", "NotFound", "Conflict"}
PLACEHOLDER = re.compile(r"%\(([A-Za-z_]\w*)\)s")

# (file, source of the message expression): messages that are not ours to mark, with why.
NOT_OURS = {
    # ScoreError / InstantOutOfRange / InvalidUSCC / recording ExportError: messages of lower layers (scoring,
    # time parsing, the USCC checksum, ffmpeg) that do not know about the catalogue.
    ("app/evaluation/room/sheets.py", "str(exc)"),
    ("app/evaluation/committee/services.py", "str(exc)"),
    ("app/recordings/exports.py", "str(exc)"),
    ("app/recordings/views.py", "_(str(exc))"),
    ("app/accounts/services_organisations.py", "str(exc)"),
    ("app/core/fields.py", "str(exc)"),
    # Both arguments of _refusal_reason are N_-marked messages; it picks one by the tender's phase.
    ("app/tendering/services_bids.py", "_refusal_reason"),
    # BodyTimeout(*self._detail()): _detail returns an N_-marked message and its params.
    ("app/core/body.py", "*self._detail()"),
}


@dataclass(frozen=True)
class Site:
    path: str
    line: int
    message: ast.expr
    call: ast.Call
    function: ast.FunctionDef | ast.AsyncFunctionDef | None


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _trees() -> dict[str, ast.Module]:
    return {str(p.relative_to(ROOT)): ast.parse(p.read_text(encoding="utf-8")) for p in sorted(APP.rglob("*.py"))}


def _error_classes(trees: dict[str, ast.Module]) -> set[str]:
    classes = set(BASES)
    grew = True
    while grew:
        grew = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ClassDef)
                    and node.name not in classes
                    and any(_name(b) in classes for b in node.bases)
                ):
                    classes.add(node.name)
                    grew = True
    return classes


def _message_arg(call: ast.Call, index: int, keyword: str | None) -> ast.expr | None:
    if len(call.args) > index:
        return call.args[index]
    return next((k.value for k in call.keywords if keyword and k.arg == keyword), None)


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


# Helpers whose keyword arguments are the message's params (`_fail(message, **params)`), with the names they
# always add themselves (`params={"where": where, **params}`).
FORWARDING: dict[str, set[str]] = {}


def _forwarded(fn: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> set[str] | None:
    if fn.args.kwarg is None:
        return None
    kwarg = fn.args.kwarg.arg
    for k in call.keywords:
        if k.arg != "params":
            continue
        if isinstance(k.value, ast.Name) and k.value.id == kwarg:
            return set()
        if isinstance(k.value, ast.Dict) and any(
            key is None and isinstance(v, ast.Name) and v.id == kwarg
            for key, v in zip(k.value.keys, k.value.values, strict=True)
        ):
            return {key.value for key in k.value.keys if isinstance(key, ast.Constant)}
    return None


def _key(path: str, name: str) -> str:
    """A private helper (`_refuse`) is known within its own module only: two modules may each have one."""
    return f"{path}:{name}" if name.startswith("_") else name


def _sites(trees: dict[str, ast.Module]) -> list[Site]:
    classes = _error_classes(trees)
    # callee name -> (index of the message argument, its keyword name)
    callees: dict[str, tuple[int, str | None]] = dict.fromkeys(classes, (0, "detail"))
    grew = True
    while grew:  # helpers that hand one of their parameters on as a message
        grew = False
        for path, tree in trees.items():
            for fn in _functions(tree):
                if _key(path, fn.name) in callees:
                    continue
                params = [a.arg for a in fn.args.args]
                for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
                    spec = callees.get(_key(path, _name(call.func) or ""))
                    arg = _message_arg(call, *spec) if spec else None
                    if isinstance(arg, ast.Name) and arg.id in params:
                        index = params.index(arg.id)
                        if params and params[0] in {"self", "cls"}:
                            break
                        callees[_key(path, fn.name)] = (index, arg.id)
                        forwarded = _forwarded(fn, call)
                        if forwarded is not None:
                            FORWARDING[_key(path, fn.name)] = forwarded
                        grew = True
                        break
    sites = []
    for path, tree in trees.items():
        owner: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        for fn in _functions(tree):  # ast.walk is breadth-first: an inner function comes later and wins
            for node in ast.walk(fn):
                owner[id(node)] = fn
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            spec = callees.get(_key(path, _name(call.func) or ""))
            if spec is None:
                continue
            arg = _message_arg(call, *spec)
            if arg is None:
                continue  # the class's title
            sites.append(Site(path, call.lineno, arg, call, owner.get(id(call))))
    return sites


def _is_not_ours(site: Site) -> bool:
    src = ast.unparse(site.message)
    if isinstance(site.message, ast.Starred):
        src = "*" + ast.unparse(site.message.value)
    return any(path == site.path and src.startswith(expr) for path, expr in NOT_OURS)


def _marked_literal(expr: ast.expr) -> str | None:
    if (
        isinstance(expr, ast.Call)
        and _name(expr.func) == "N_"
        and len(expr.args) == 1
        and isinstance(expr.args[0], ast.Constant)
        and isinstance(expr.args[0].value, str)
    ):
        return expr.args[0].value
    return None


@pytest.fixture(scope="module")
def sites() -> list[Site]:
    return _sites(_trees())


@pytest.fixture(scope="module")
def catalogue() -> Catalog:
    with PO.open("rb") as f:
        return read_po(f)


def test_the_walk_finds_the_raise_sites(sites: list[Site]) -> None:
    """A guard against a walk that finds nothing: app/ raises hundreds of messages through helpers too."""
    assert len(sites) > 300
    helpers = {_name(s.call.func) for s in sites}
    assert {"_fail", "refuse", "get_row", "field_error", "NotFound", "AccessRefused"} <= helpers


def test_every_message_is_marked_where_it_is_raised(sites: list[Site]) -> None:
    unmarked = []
    for site in sites:
        if _marked_literal(site.message) is not None or _is_not_ours(site):
            continue
        fn = site.function
        if isinstance(site.message, ast.Name) and fn is not None and site.message.id in [a.arg for a in fn.args.args]:
            continue  # a helper passing its parameter on; its callers are raise sites themselves
        unmarked.append(f"{site.path}:{site.line}: {ast.unparse(site.message)[:100]}")
    assert not unmarked, "mark these with N_() (values in params=):\n" + "\n".join(unmarked)


def test_every_message_has_a_chinese_translation(sites: list[Site], catalogue: Catalog) -> None:
    missing = []
    for site in sites:
        text = _marked_literal(site.message)
        if text is None:
            continue
        found = catalogue.get(text)
        if found is None or not found.string:
            missing.append(f"{site.path}:{site.line}: {text}")
    assert not missing, "no zh-CN translation (append it to messages.po/.pot):\n" + "\n".join(missing)


def test_the_values_of_a_message_are_named_by_its_placeholders(sites: list[Site]) -> None:
    wrong = []
    for site in sites:
        text = _marked_literal(site.message)
        if text is None:
            continue
        named = set(PLACEHOLDER.findall(text))
        params = next((k.value for k in site.call.keywords if k.arg == "params"), None)
        if isinstance(params, ast.Dict):
            given = {k.value for k in params.keys if isinstance(k, ast.Constant)}
        elif params is None and _key(site.path, _name(site.call.func) or "") in FORWARDING:
            own = FORWARDING[_key(site.path, _name(site.call.func) or "")]
            given = own | {k.arg for k in site.call.keywords if k.arg}
        elif params is None:
            given = set()
        else:
            continue  # built elsewhere
        if named != given:
            wrong.append(f"{site.path}:{site.line}: {text!r} gets {sorted(given)}")
    assert not wrong, "\n".join(wrong)


def test_a_page_shows_the_message_in_chinese_and_the_api_in_english(app: Flask) -> None:
    exc = ValidationFailed(N_("A JSON request body may have at most %(limit)s bytes."), params={"limit": 4096})
    assert exc.detail == "A JSON request body may have at most 4096 bytes."
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert exc.translated == "JSON 请求正文最多 4096 字节。"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert exc.translated == exc.detail
