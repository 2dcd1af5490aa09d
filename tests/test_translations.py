"""The Chinese catalogue is complete, not fuzzy, compiled, and keeps every placeholder of its msgid.

Regenerate with the commands at the top of babel.cfg; this test fails when a new `_()` string has not
been extracted into messages.pot, has no zh translation, or a translation drops or renames a placeholder.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
POT = TRANSLATIONS / "messages.pot"
PO = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_": None}

# %(name)s, %s / %d, {name} / {0} / {}, and %% (a literal percent sign in a formatted string).
PLACEHOLDER = re.compile(
    r"%\([A-Za-z_]\w*\)[-#0 +]*\d*(?:\.\d+)?[sdifeEgGrxXoc]|%[sdifr]|%%"
    r"|\{[A-Za-z_0-9.\[\]]*(?:![rsa])?(?::[^{}]*)?\}"
)
TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)\b[^>]*>")


def _read_po(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def _forms(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _key(message: Message) -> tuple[str, str | None]:
    msgid = message.id if isinstance(message.id, str) else message.id[0]
    return msgid, message.context


def _untranslated(message: Message) -> bool:
    forms = _forms(message.string)
    return not forms or not all(forms)


@pytest.fixture(scope="module")
def pot() -> Catalog:
    return _read_po(POT)


@pytest.fixture(scope="module")
def po() -> Catalog:
    return _read_po(PO)


def _messages(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def test_template_is_up_to_date_with_the_sources(pot: Catalog) -> None:
    """Every string marked in app/ (per babel.cfg) is in messages.pot."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    extracted = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            extracted.add((msgid, context))
    missing = sorted(k for k in extracted if k not in {_key(m) for m in _messages(pot)})
    assert not missing, f"strings not extracted into messages.pot (run pybabel extract): {missing}"


def test_every_template_msgid_has_a_chinese_translation(pot: Catalog, po: Catalog) -> None:
    translated = {_key(m) for m in _messages(po) if not _untranslated(m) and not m.fuzzy}
    missing = sorted(_key(m)[0] for m in _messages(pot) if _key(m) not in translated)
    assert not missing, f"{len(missing)} msgids lack a zh translation: {missing}"


def test_no_untranslated_or_fuzzy_entries(po: Catalog) -> None:
    assert not po.fuzzy, "the catalogue header is marked fuzzy"
    fuzzy = [m.id for m in _messages(po) if m.fuzzy]
    empty = [m.id for m in _messages(po) if _untranslated(m)]
    assert not fuzzy, f"fuzzy entries remain: {fuzzy}"
    assert not empty, f"untranslated entries remain: {empty}"


def test_placeholders_and_markup_match(po: Catalog) -> None:
    problems = []
    for m in _messages(po):
        ids = _forms(m.id)
        for form in _forms(m.string):
            if not form:
                continue
            # A plural msgstr may use the singular's or the plural's placeholders (zh has one form).
            want = [Counter(PLACEHOLDER.findall(i)) for i in ids]
            got = Counter(PLACEHOLDER.findall(form))
            if got not in want:
                problems.append((ids[0], form, "placeholders", dict(want[0]), dict(got)))
            if Counter(TAG.findall(ids[0])) != Counter(TAG.findall(form)):
                problems.append((ids[0], form, "html tags", TAG.findall(ids[0]), TAG.findall(form)))
    assert not problems, problems


def test_compiled_catalogue_is_current(po: Catalog) -> None:
    """messages.mo holds exactly the translations of messages.po (run pybabel compile)."""
    with MO.open("rb") as f:
        mo = read_mo(f)
    stale = []
    for m in _messages(po):
        compiled = mo.get(m.id, context=m.context)
        if compiled is None or _forms(compiled.string) != _forms(m.string):
            stale.append(_key(m)[0])
    assert not stale, f"messages.mo is out of date for: {stale}"


def test_placeholder_check_can_fail() -> None:
    """Guard the guard: the pattern sees the placeholders a translator could break."""
    assert Counter(PLACEHOLDER.findall("Role %(name)s, {count} of %s")) != Counter(
        PLACEHOLDER.findall("角色 %(名称)s，{数量}")
    )


@pytest.mark.parametrize("path", [POT, PO], ids=["pot", "po"])
def test_every_entry_is_well_formed(path: Path) -> None:
    """Each msgid (with its continuation lines) is followed by its msgstr, as gettext's own tools require."""
    lines = path.read_text(encoding="utf-8").splitlines()
    broken = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("msgid "):
            j = i + 1
            while j < len(lines) and lines[j].startswith('"'):
                j += 1
            if j >= len(lines) or not lines[j].startswith(("msgstr", "msgid_plural")):
                broken.append(f"{path.name}:{i + 1}: {lines[i][:80]}")
            i = j
        else:
            i += 1
    assert not broken, "entries without msgstr:\n" + "\n".join(broken)
