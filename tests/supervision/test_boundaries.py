"""DESIGN.md: supervision imports no floor's services (only their models and the shared calendar), and no floor
imports supervision."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
FLOORS = ("app.tendering", "app.evaluation", "app.recordings", "app.permits", "app.convenience")
SHARED = ("app.permits.calendar",)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


# Read-only queries of the convenience floor that window-staff presence needs (a window's hours today, whether it is
# open, who is signed on, what waits): named one by one, so that no service that writes can slip in.
READ_ONLY = {
    "app.convenience.services": {"get_window", "hours_on", "is_open", "open_session"},
    "app.convenience.queue": {"current_ticket", "waiting_count"},
}


def _imported_names(path: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.setdefault(node.module, set()).update(alias.name for alias in node.names)
    return found


def test_supervision_reads_only_the_floors_models() -> None:
    wrong = []
    for path in (APP / "supervision").rglob("*.py"):
        names = _imported_names(path)
        for module in _imports(path):
            is_models = module.rsplit(".", 1)[-1].endswith("models")  # models, processing_models …
            if module in READ_ONLY and names.get(module, {"*"}) <= READ_ONLY[module]:
                continue
            if module.startswith(FLOORS) and not module.startswith(SHARED) and not is_models:
                wrong.append(f"{path.relative_to(APP)}: {module}")
    assert not wrong, wrong


def test_no_floor_imports_supervision() -> None:
    wrong = []
    for floor in FLOORS:
        for path in (APP / floor.split(".", 1)[1]).rglob("*.py"):
            if any(m.startswith("app.supervision") for m in _imports(path)):
                wrong.append(str(path.relative_to(APP)))
    assert not wrong, wrong
