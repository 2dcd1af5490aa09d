"""The request boundary (app/core/pages.py) is the only place a request's unit of work is committed.

Views and API operations never call `db.session.commit()` / `rollback()`: the boundary commits an answer below 400
and rolls anything else back; `attempt()` / `discard()` drop the work of a page that met a domain error. The few
views that must commit in the middle of a request are listed here, each with its reason. The signed-in user is
`app.core.pages.me()`, never a module's own `_me()`.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

# (module, function) -> why it commits before the answer is known.
ALLOWED: dict[tuple[str, str], str] = {
    ("accounts/views.py", "login"): "a failed attempt and a lockout are evidence although the answer is 401/429",
    ("accounts/views.py", "login_totp"): "a wrong code counts toward the lockout although the answer is 401/429",
    ("accounts/api.py", "create_token"): "the sign-in (user name, password) is evidence whatever the answer",
    ("accounts/api.py", "_signed_in_user"): "the sign-in attempt is evidence whatever the answer",
    ("tendering/api.py", "put_chunk"): "inside the upload's writer lock: the next writer must see the stored offset",
    ("tendering/api.py", "complete_upload"): "inside the upload's writer lock: the next writer must see it complete",
}


def _modules() -> list[Path]:
    """View and API modules: views*.py, api*.py, *_api.py anywhere, and every page module of an `agency/` package."""
    found = {*APP.rglob("views*.py"), *APP.rglob("api*.py"), *APP.rglob("*_api.py"), *APP.rglob("agency/*.py")}
    return sorted(found)


def _session_calls(tree: ast.AST) -> list[tuple[str, str, int]]:
    """(enclosing function, method, line) of every `db.session.commit()` / `db.session.rollback()`."""
    found: list[tuple[str, str, int]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr in ("commit", "rollback")
                and isinstance(child.func.value, ast.Attribute)
                and child.func.value.attr == "session"
            ):
                found.append((function, child.func.attr, child.lineno))
            visit(child, name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function)

    visit(tree, "<module>")
    return found


def test_the_scan_sees_the_view_and_api_modules() -> None:
    names = {str(p.relative_to(APP)) for p in _modules()}
    assert {
        "accounts/views.py",
        "tendering/api.py",
        "evaluation/room/api.py",
        "tendering/agency/publication.py",
    } <= names


def test_views_and_api_operations_never_commit_or_roll_back() -> None:
    offending, used = [], set()
    for path in _modules():
        rel = str(path.relative_to(APP))
        for function, method, line in _session_calls(ast.parse(path.read_text(), str(path))):
            if (rel, function) in ALLOWED and method == "commit":
                used.add((rel, function))
                continue
            offending.append(f"{rel}:{line} {function}() calls db.session.{method}()")
    assert offending == [], "the request boundary commits; use attempt()/discard() (app/core/pages.py)"
    assert used == set(ALLOWED), f"allow-listed but no longer committing: {set(ALLOWED) - used}"


def test_the_signed_in_user_is_core_pages_me() -> None:
    defined = [
        f"{path.relative_to(APP)}:{node.lineno}"
        for path in sorted(APP.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.FunctionDef) and node.name == "_me"
    ]
    assert defined == [], "use `from app.core.pages import me`"


def test_views_call_no_private_service_function() -> None:
    calls = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id.startswith("services")
            ):
                calls.append(f"{path.relative_to(APP)}:{node.lineno} {node.value.id}.{node.attr}")
    assert calls == []
