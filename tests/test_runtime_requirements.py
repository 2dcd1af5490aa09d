"""Every module the platform imports at run time comes with requirements.txt (not only with the test tools).

`make run` installs requirements.txt alone; a package that only requirements-dev.txt brings (say, `requests`
through a test tool) works in the tests and breaks `make run`. This walks the imports of app/, crypto/,
recording/ and wsgi.py and checks each third-party module against the distributions requirements.txt pins and
what they require in turn (markers evaluated for this machine, extras only where a pin names them).
"""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"app", "crypto", "recording", "wsgi"}
# Optional at run time, imported where used inside `try/except ImportError` with a clear message.
OPTIONAL = {"sounddevice": "a microphone source (recording/audio.py): without it the source is unavailable"}


def _imported_modules() -> dict[str, str]:
    found: dict[str, str] = {}
    files = [ROOT / "wsgi.py", *(p for d in ("app", "crypto", "recording") for p in (ROOT / d).rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in FIRST_PARTY | OPTIONAL.keys() and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _runtime_closure() -> set[str]:
    pending: list[tuple[str, set[str]]] = []
    for raw in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            pending.append((req.name, set(req.extras)))
    seen: set[str] = set()
    while pending:
        name, extras = pending.pop()
        key = _normal(name)
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for spec in requires:
            req = Requirement(spec)
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in environments):
                pending.append((req.name, set(req.extras)))
    return seen


def test_every_runtime_import_is_installed_by_requirements_txt() -> None:
    closure = _runtime_closure()
    providers = metadata.packages_distributions()
    missing = {}
    for module, where in sorted(_imported_modules().items()):
        dists = {_normal(d) for d in providers.get(module, [])}
        if not dists & closure:
            missing[module] = (where, sorted(dists) or "no installed distribution")
    assert not missing, f"imported at run time but not brought by requirements.txt: {missing}"
