"""政民互动 administration: the categories' reply templates and the routing rules, changed by the dispatch office.

- **Reply templates.** Only the known placeholders {reference} {name} {category} {department} {due} (what
  `services.fill_template` fills) are accepted; an unknown one, a format spec or a stray brace is refused with the
  field's message, so an operator never reads out a half-filled reply.
- **Routing rules.** A rule names at least one condition (kind, category or keyword) and an existing department;
  a rule with no condition would swallow every request. Deactivating keeps the rule (and the requests it routed
  point at it); deleting is for a rule that never routed a request.

Services flush and never commit; every change writes its evidence-log entry in the same transaction.
"""

from __future__ import annotations

import string
from typing import Any

from sqlalchemy import func, select

from app import audit
from app.convenience.interaction.models import (
    InteractionCategory,
    InteractionRequest,
    InteractionRoutingRule,
    Kind,
)
from app.core.db import db
from app.core.errors import Conflict, NotFound, clean_text, field_error
from app.core.problems import N_
from app.permits.catalogue.models import Department

PLACEHOLDERS = ("reference", "name", "category", "department", "due")
TEMPLATE_MAX = 2000
KEYWORD_MAX = 50
RULE_NOTE_MAX = 200
PRIORITY_MIN, PRIORITY_MAX = 1, 9999


def placeholders_of(text: str) -> list[str]:
    """The placeholders `text` uses, in order; a stray brace or an unknown placeholder is the field's error."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        raise field_error(
            "template", N_("A brace { or } stands alone: write placeholders as {reference}, or remove the brace.")
        ) from None
    used: list[str] = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise field_error(
                "template",
                N_("%(placeholder)s is not a placeholder the reply can fill. Use only %(known)s."),
                params={"placeholder": shown, "known": " ".join("{" + p + "}" for p in PLACEHOLDERS)},
            )
        used.append(name)
    return used


def category(code: Any) -> InteractionCategory:
    found = (
        db.session.scalar(select(InteractionCategory).where(InteractionCategory.code == code))
        if isinstance(code, str) and 0 < len(code) <= 32
        else None
    )
    if found is None:
        raise NotFound(N_("No such request category."))
    return found  # type: ignore[no-any-return]


def set_template(*, actor: Any, code: Any, template: Any) -> InteractionCategory:
    """Replace a category's reply template (checked first: nothing is stored on a bad one)."""
    found = category(code)
    text = clean_text(template, "template", TEMPLATE_MAX)
    used = placeholders_of(text)
    if text == found.reply_template:
        return found
    previous = found.reply_template
    found.reply_template = text
    db.session.flush()
    audit.record(
        "convenience.interaction.template_changed",
        actor=actor,
        subject=f"convenience.interaction.category:{found.code}",
        data={"category": found.code, "previous": previous, "template": text, "placeholders": " ".join(used)},
    )
    return found


# --- routing rules -------------------------------------------------------------------------------------------


def rules() -> list[InteractionRoutingRule]:
    """Every rule in the order routing tries them: active first, then by priority and id."""
    return list(
        db.session.scalars(
            select(InteractionRoutingRule).order_by(
                InteractionRoutingRule.active.desc(), InteractionRoutingRule.priority, InteractionRoutingRule.id
            )
        )
    )


def departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.position, Department.code)))


def _rule(rule_id: Any, *, lock: bool = False) -> InteractionRoutingRule:
    stmt = select(InteractionRoutingRule).where(InteractionRoutingRule.id == rule_id)
    found = db.session.scalar(stmt.with_for_update() if lock else stmt) if isinstance(rule_id, int) else None
    if found is None:
        raise NotFound(N_("No such routing rule."))
    return found  # type: ignore[no-any-return]


def _priority(value: Any) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = 0
    if not PRIORITY_MIN <= number <= PRIORITY_MAX:
        raise field_error(
            "priority",
            N_("Enter a whole number from %(low)s to %(high)s."),
            params={"low": PRIORITY_MIN, "high": PRIORITY_MAX},
        )
    return number


def _audit_rule(action: str, actor: Any, rule: InteractionRoutingRule) -> None:
    audit.record(
        action,
        actor=actor,
        subject=f"convenience.interaction.rule:{rule.id}",
        data={
            "rule": rule.id,
            "priority": rule.priority,
            "kind": rule.kind.value if rule.kind is not None else "",
            "category": rule.category.code if rule.category is not None else "",
            "keyword": rule.keyword,
            "department": rule.department.code if rule.department is not None else "",
            "active": int(rule.active),
        },
    )


def add_rule(
    *, actor: Any, priority: Any, department: Any, kind: Any = "", category: Any = "", keyword: Any = "", note: Any = ""
) -> InteractionRoutingRule:
    """Add an active rule; every input is checked before anything is stored."""
    number = _priority(priority)
    chosen_kind: Kind | None = None
    if kind:
        try:
            chosen_kind = Kind(kind)
        except ValueError:
            raise field_error("kind", N_("Choose one of the request types.")) from None
    chosen_category: InteractionCategory | None = None
    if category:
        chosen_category = (
            db.session.scalar(select(InteractionCategory).where(InteractionCategory.code == category))
            if isinstance(category, str) and len(category) <= 32
            else None
        )
        if chosen_category is None:
            raise field_error("category", N_("Choose one of the categories."))
    word = clean_text(keyword, "keyword", KEYWORD_MAX, required=False)
    if chosen_kind is None and chosen_category is None and not word:
        raise field_error("keyword", N_("Give at least one condition: a request type, a category or a keyword."))
    target = (
        db.session.scalar(select(Department).where(Department.code == department))
        if isinstance(department, str) and department
        else None
    )
    if target is None:
        raise field_error("department", N_("Choose the department to handle it."))
    text = clean_text(note, "note", RULE_NOTE_MAX, required=False)
    rule = InteractionRoutingRule(
        priority=number,
        kind=chosen_kind,
        category_id=chosen_category.id if chosen_category is not None else None,
        keyword=word,
        department_id=target.id,
        active=True,
        note=text,
    )
    rule.category = chosen_category
    rule.department = target
    db.session.add(rule)
    db.session.flush()
    _audit_rule("convenience.interaction.rule_added", actor, rule)
    return rule


def set_active(*, actor: Any, rule_id: Any, active: bool) -> InteractionRoutingRule:
    """Deactivate (or activate again) a rule; routing skips an inactive one."""
    rule = _rule(rule_id, lock=True)
    if rule.active is active:
        if active:
            raise Conflict(N_("The rule is in use already."))
        raise Conflict(N_("The rule is not in use already."))
    rule.active = active
    db.session.flush()
    _audit_rule(
        "convenience.interaction.rule_activated" if active else "convenience.interaction.rule_deactivated",
        actor,
        rule,
    )
    return rule


def delete_rule(*, actor: Any, rule_id: Any) -> None:
    """Delete a rule that never routed a request; one that did is kept (deactivate it instead)."""
    rule = _rule(rule_id, lock=True)
    used = db.session.scalar(
        select(func.count()).select_from(InteractionRequest).where(InteractionRequest.routing_rule_id == rule.id)
    )
    if used:
        raise Conflict(
            N_("This rule has routed %(n)s requests and is kept for them: stop using it instead."),
            params={"n": int(used)},
        )
    _audit_rule("convenience.interaction.rule_deleted", actor, rule)
    db.session.delete(rule)
    db.session.flush()
