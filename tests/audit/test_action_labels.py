"""Every evidence-log action that app/ records has words in the registry (app.audit.actions), in both languages.

The walk reads app/ as syntax trees: the first argument of every `record(...)` call (a literal, a conditional
of literals, or an f-string whose variable part is listed below), and every `audit_action = "..."` of a
logged refusal.
"""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po
from flask import Flask

from app.audit.actions import ACTIONS, action_label
from crypto.receipt import BATCH_ACTION

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "app" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
# f"tendering.tender.{kind}": the kinds of clarify_tender (app.tendering.services_tenders).
TENDER_CHANGE_KINDS = ("clarification", "amendment")
# record(...) calls whose action is not a literal, and where their actions come from.
INDIRECT = {"err.audit_action", "action", "BATCH_ACTION", "session_id", "f'tendering.tender.{kind}'"}


def _literals(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        a, b = _literals(node.body), _literals(node.orelse)
        return a + b if a is not None and b is not None else None
    return None


def _recorded_actions() -> tuple[set[str], set[str]]:
    found: set[str] = {BATCH_ACTION} | {f"tendering.tender.{k}" for k in TENDER_CHANGE_KINDS}
    unknown: set[str] = set()
    for path in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name not in {"record", "note"}:
                    continue
                values = _literals(node.args[0])
                if values is None:
                    source = ast.unparse(node.args[0])
                    if source not in INDIRECT:
                        unknown.add(f"{path.relative_to(ROOT)}:{node.lineno}: {source}")
                else:
                    found.update(values)
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "audit_action" for t in node.targets):
                values = _literals(node.value)
                if values:
                    found.update(values)
    return found, unknown


def test_the_walk_finds_the_recorded_actions() -> None:
    actions, unknown = _recorded_actions()
    assert len(actions) > 90
    assert {"tendering.opening.started", "evaluation.report.signed", "access.denied"} <= actions
    assert not unknown, "record(...) with an action the test cannot read; list where it comes from:\n" + "\n".join(
        sorted(unknown)
    )


def test_every_recorded_action_has_a_label() -> None:
    actions, _ = _recorded_actions()
    missing = sorted(actions - set(ACTIONS))
    assert not missing, "add these to app.audit.actions.ACTIONS:\n" + "\n".join(missing)


def test_every_label_is_translated() -> None:
    with PO.open("rb") as f:
        catalogue = read_po(f)
    msgids = [label._args[0] for label in ACTIONS.values()]  # lazy_gettext keeps its msgid
    missing = [m for m in msgids if catalogue.get(m) is None or not catalogue.get(m).string]
    assert not missing, "no zh-CN translation:\n" + "\n".join(missing)


def test_a_page_shows_the_words(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert action_label("tendering.opening.started") == "开标开始"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert action_label("tendering.opening.started") == "Opening started"
        assert action_label("not.an.action") == "not.an.action"
