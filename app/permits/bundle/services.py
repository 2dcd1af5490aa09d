"""Bundle services (一照三证联办): define a bundle, its union form and de-duplicated materials, submit one
application, attach each material once, accept into parallel department cases, issue the output set.

Every function flushes and writes its evidence-log entry in the caller's transaction; the caller commits.

- The union form asks each attribute once: members' attributes with the same key must have the same definition
  (type, bounds, values — the title and order may differ); otherwise the definition is refused with every
  conflict named. An attribute is required when any member requires it. The order follows the members.
- Materials are de-duplicated by name (spaces and full-width forms normalised): one upload serves every member
  that asks for that material; a conditional material applies when its condition holds for its member's answers.
- Submission creates one application per member (app.permits.cases) with the answers its form asks for, linked
  as the bundle case's parts. The desk accepts all of them at once (all or nothing): one case per department,
  each with its own steps and due dates, working in parallel.
- The output: once every part is approved, the business licence is issued (a certificate of the registry) with
  the 18-character unified social credit code (GB 32100 check), and the organisation code (the code's 9th–17th
  characters) and the tax registration number (the code itself, 三证合一) recorded on it.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from typing import IO, Any

from flask import current_app
from sqlalchemy import select

from app.accounts.uscc import InvalidUSCC, parse_uscc
from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, clean_text, field_error
from app.core.problems import N_
from app.core.time import now_utc, to_center_time
from app.permits.bundle.models import BundleCase, BundleDefinition, BundleMember, BundlePart, BundleStatus
from app.permits.cases import services as cases
from app.permits.cases.models import Application, ApplicationChannel, ApplicationStatus
from app.permits.cases.processing_models import DecisionOutcome
from app.permits.catalogue import conditions, form_schema
from app.permits.catalogue.models import Item, ItemMaterial, MaterialRequirement
from app.permits.catalogue.services import CODE
from app.permits.permissions import CATALOGUE_MANAGE, CERTIFICATE_ISSUE

MAX_MEMBERS = 10
PRESENTATION = frozenset({"title", "description", "x-order"})


def _actor_id(actor: Any) -> int | None:
    return getattr(actor, "id", None) if getattr(actor, "is_authenticated", False) else None


# --- the union form and the de-duplicated materials ----------------------------------------------------


def union_form(items: list[Item]) -> dict[str, Any]:
    """The members' forms as one (each attribute once). ValidationFailed naming every conflicting attribute."""
    properties: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    required: list[str] = []
    conflicts: list[str] = []
    order = 0
    for item in items:
        schema = item.form_schema
        for name, prop in sorted(schema["properties"].items(), key=lambda kv: kv[1]["x-order"]):
            shape = {k: v for k, v in prop.items() if k not in PRESENTATION}
            if name in properties:
                known = {k: v for k, v in properties[name].items() if k not in PRESENTATION}
                if known != shape:
                    conflicts.append(f"{name}: {origin[name]} ≠ {item.code}")
                continue
            order += 1
            properties[name] = {**prop, "x-order": order}
            origin[name] = item.code
        required.extend(r for r in schema.get("required", []) if r not in required)
    if conflicts:
        raise ValidationFailed(
            N_("The items define the same attribute differently: %(names)s."),
            params={"names": "; ".join(conflicts)},
            errors={"items": conflicts},
        )
    return {
        "type": "object",
        "properties": properties,
        "required": [r for r in required if r in properties],
        "additionalProperties": False,
    }


def answers_for(item: Item, answers: dict[str, Any]) -> dict[str, Any]:
    """The part of the union answers a member item's form asks for."""
    return {k: v for k, v in answers.items() if k in item.form_schema["properties"]}


def material_key(name: str) -> str:
    text = unicodedata.normalize("NFKC", name)
    return hashlib.sha256("".join(text.split()).encode("utf-8")).hexdigest()[:16]


@dataclass
class BundleMaterial:
    """One material of the bundle: every member material of that name."""

    key: str
    name: str
    members: list[tuple[Item, ItemMaterial]] = field(default_factory=list)

    @property
    def always(self) -> bool:
        return any(m.requirement is MaterialRequirement.REQUIRED for _, m in self.members)

    def applies(self, answers: dict[str, Any]) -> list[tuple[Item, ItemMaterial]]:
        """The member materials this material answers for these (union) answers."""
        out = []
        for item, material in self.members:
            if material.requirement is MaterialRequirement.REQUIRED or (
                material.condition_tree is not None
                and conditions.evaluate(material.condition_tree, answers_for(item, answers))
            ):
                out.append((item, material))
        return out


def materials(bundle: BundleDefinition) -> list[BundleMaterial]:
    """The members' materials, each name once, in the members' order."""
    out: dict[str, BundleMaterial] = {}
    for item in bundle.items:
        for material in item.materials:
            key = material_key(material.name)
            out.setdefault(key, BundleMaterial(key, material.name)).members.append((item, material))
    return list(out.values())


def needed_materials(bundle: BundleDefinition, answers: dict[str, Any]) -> list[BundleMaterial]:
    return [m for m in materials(bundle) if m.applies(answers)]


# --- defining ------------------------------------------------------------------------------------------


def get_bundle(code: str) -> BundleDefinition:
    found: BundleDefinition | None = (
        db.session.scalar(select(BundleDefinition).where(BundleDefinition.code == code)) if len(code) <= 40 else None
    )
    if found is None:
        raise NotFound(N_("No such bundle."))
    return found


def list_bundles() -> list[BundleDefinition]:
    return list(db.session.scalars(select(BundleDefinition).order_by(BundleDefinition.code)))


def define_bundle(
    *, actor: Any, code: Any, name: Any, item_codes: Any, licence_item: Any, name_en: Any = ""
) -> BundleDefinition:
    """Create or amend a bundle: its member items (2–10, distinct) and the one that issues the licence. The union
    form is checked first: conflicting attribute definitions are refused (422) and nothing is stored."""
    if actor != "system:demo" and not (
        getattr(actor, "is_authenticated", False) and actor.has_permission(CATALOGUE_MANAGE)
    ):
        raise PermissionDenied(N_("Only catalogue administrators define bundles."))
    if not isinstance(code, str) or not re.match(CODE, code):
        raise field_error("code", N_("A code of letters, digits, '.', '_' or '-', at most 40."))
    clean_name = clean_text(name, "name", 200)
    clean_en = clean_text(name_en, "name_en", 300, required=False)
    if not isinstance(item_codes, list) or not 2 <= len(item_codes) <= MAX_MEMBERS:
        raise field_error("items", N_("A bundle has 2 to %(n)s items."), params={"n": MAX_MEMBERS})
    items: list[Item] = []
    for i, item_code in enumerate(item_codes):
        item = db.session.scalar(select(Item).where(Item.code == str(item_code)[:40]))
        if item is None:
            raise field_error(f"items.{i}", N_("No such item in the catalogue."))
        if item in items:
            raise field_error(f"items.{i}", N_("An item is named once."))
        items.append(item)
    licence = next((i for i in items if i.code == licence_item), None)
    if licence is None:
        raise field_error("licence_item", N_("The licence is issued by one of the bundle's items."))
    union = union_form(items)
    bundle: BundleDefinition | None = db.session.scalar(select(BundleDefinition).where(BundleDefinition.code == code))
    if (
        bundle is not None
        and [m.item_id for m in bundle.members] == [i.id for i in items]
        and (
            bundle.name,
            bundle.name_en,
            bundle.licence_item_id,
        )
        == (clean_name, clean_en, licence.id)
    ):
        return bundle  # nothing changed: nothing to record
    if bundle is None:
        bundle = BundleDefinition(code=code)
        db.session.add(bundle)
    else:
        bundle.members.clear()
        db.session.flush()
    bundle.name, bundle.name_en, bundle.licence_item = clean_name, clean_en, licence
    bundle.defined_at, bundle.defined_by_id = now_utc(), _actor_id(actor)
    bundle.members = [BundleMember(item=item, position=i) for i, item in enumerate(items, start=1)]
    db.session.flush()
    record(
        "permits.bundle.defined",
        actor=actor,
        subject=bundle.audit_ref,
        data={
            "code": bundle.code,
            "items": [i.code for i in items],
            "licence_item": licence.code,
            "attributes": list(union["properties"]),
            "materials": [m.name for m in materials(bundle)],
        },
    )
    return bundle


# --- applying ------------------------------------------------------------------------------------------


def _new_number() -> str:
    stamp = to_center_time(now_utc(), current_app.config["CENTER_TIMEZONE"]).strftime("%Y%m%d")
    return f"LB{stamp}-{secrets.token_hex(4).upper()}"


def submit_bundle(
    *, actor: Any, bundle: BundleDefinition, applicant: cases.Applicant, answers: Any, channel: ApplicationChannel
) -> BundleCase:
    """One application for every member: the answers against the union form, then one application per member."""
    if not isinstance(answers, dict):
        raise field_error("answers", N_("The answers are a JSON object."))
    union = union_form(bundle.items)
    errors = form_schema.answer_errors(union, answers)
    if errors:
        raise ValidationFailed(N_("The application form is not filled in correctly."), errors={"answers": errors})
    row = BundleCase(
        number=_new_number(),
        tracking_token=secrets.token_urlsafe(24),
        bundle_id=bundle.id,
        bundle=bundle,
        applicant_kind=applicant.kind,
        applicant_name=applicant.name,
        applicant_code=applicant.code,
        contact_phone=applicant.phone,
        answers=answers,
        channel=channel,
        submitted_by_id=_actor_id(actor) if channel is ApplicationChannel.ONLINE else None,
        received_at=now_utc(),
        status=BundleStatus.RECEIVED,
    )
    db.session.add(row)
    db.session.flush()
    for position, item in enumerate(bundle.items, start=1):
        application = cases.submit_application(
            actor=actor, item_code=item.code, applicant=applicant, answers=answers_for(item, answers), channel=channel
        )
        db.session.add(BundlePart(bundle_case_id=row.id, application_id=application.id, position=position))
    db.session.flush()
    record(
        "permits.bundle.submitted",
        actor=actor,
        subject=row.audit_ref,
        data={
            "number": row.number,
            "bundle": bundle.code,
            "channel": channel.value,
            "applications": [p.application.number for p in row.parts],
        },
    )
    return row


def get_bundle_case(bundle_case_id: int) -> BundleCase:
    row = db.session.get(BundleCase, bundle_case_id) if 0 < bundle_case_id < 2**31 else None
    if row is None:
        raise NotFound(N_("No such joint application."))
    return row


def visible_bundle_case(actor: Any, bundle_case_id: int) -> BundleCase:
    row = get_bundle_case(bundle_case_id)
    if cases._is_desk(actor) or (row.submitted_by_id is not None and row.submitted_by_id == _actor_id(actor)):
        return row
    raise NotFound(N_("No such joint application."))


def tracked_bundle(number: str, token: str) -> BundleCase:
    row: BundleCase | None = (
        db.session.scalar(select(BundleCase).where(BundleCase.number == number)) if len(number) <= 32 else None
    )
    if row is None or not secrets.compare_digest(row.tracking_token.encode(), str(token).encode()):
        raise NotFound(N_("No such joint application."))
    return row


def list_bundle_cases(limit: int = 200) -> list[BundleCase]:
    return list(db.session.scalars(select(BundleCase).order_by(BundleCase.id.desc()).limit(limit)))


def received_keys(row: BundleCase) -> set[str]:
    """The bundle materials every part that needs them has received."""
    out = set()
    for material in needed_materials(row.bundle, row.answers):
        wanted = {m.id for _, m in material.applies(row.answers)}
        have = {r.item_material_id for p in row.parts for r in p.application.materials}
        if wanted <= have:
            out.add(material.key)
    return out


def attach_bundle_material(
    *, actor: Any, row: BundleCase, key: str, name: str, stream: IO[bytes], length: int | None, content_type: str
) -> list[Any]:
    """One file for a bundle material: received by every part that asks for it (each a write-once object)."""
    if row.status is not BundleStatus.RECEIVED:
        raise Conflict(N_("Materials are received before the joint application is accepted."))
    material = next((m for m in needed_materials(row.bundle, row.answers) if m.key == key), None)
    if material is None:
        raise field_error("material", N_("This joint application asks for no such material."))
    limit = int(current_app.config.get("PERMITS_MAX_MATERIAL_SIZE", cases.MAX_MATERIAL_SIZE))
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise field_error("file", N_("A material may have at most %(limit)s bytes."), params={"limit": limit})
    by_item = {p.application.item_id: p.application for p in row.parts}
    received = []
    for item, item_material in material.applies(row.answers):
        received.append(
            cases.attach_material(
                actor=actor,
                application=by_item[item.id],
                material_id=item_material.id,
                name=name,
                stream=io.BytesIO(body),
                length=len(body),
                content_type=content_type,
            )
        )
    record(
        "permits.bundle.material_received",
        actor=actor,
        subject=row.audit_ref,
        data={
            "material": material.name,
            "sha256": hashlib.sha256(body).hexdigest(),
            "size": len(body),
            "applications": [r.application.number for r in received],
        },
    )
    return received


# --- the desk ------------------------------------------------------------------------------------------


def accept_bundle(*, actor: Any, row: BundleCase) -> BundleCase:
    """Accept every part at once (all or nothing): one case per department, in parallel."""
    if not cases._is_desk(actor):
        raise PermissionDenied(N_("Only desk staff accept applications."))
    if row.status is not BundleStatus.RECEIVED:
        raise Conflict(N_("This joint application was accepted already."))
    waiting = [p.application for p in row.parts if p.application.status is not ApplicationStatus.ACCEPTED]
    for application in waiting:
        cases.accept_application(actor=actor, application=application)
    row.status = BundleStatus.ACCEPTED
    row.accepted_at = now_utc()
    row.accepted_by_id = actor.id
    db.session.flush()
    record(
        "permits.bundle.accepted",
        actor=actor,
        subject=row.audit_ref,
        data={
            "number": row.number,
            "cases": [
                {"case_number": p.application.case_number, "department": p.application.item.department.code}
                for p in row.parts
            ],
        },
    )
    return row


def licence_part(row: BundleCase) -> Application:
    return next(p.application for p in row.parts if p.application.item_id == row.bundle.licence_item_id)


def issue_output(*, actor: Any, row: BundleCase, uscc: Any) -> BundleCase:
    """The output set: the business licence with the unified social credit code, the other three recorded on it.

    Needs permits.certificates.issue, every part approved and its fees paid (or free). Raises PermissionDenied,
    Conflict, ValidationFailed (the credit code)."""
    from app.permits.certificates import services as certificates
    from app.permits.fees.services import require_paid

    if not (getattr(actor, "is_authenticated", False) and actor.has_permission(CERTIFICATE_ISSUE)):
        raise PermissionDenied(N_("Only staff who issue certificates issue the licence."))
    try:
        code = parse_uscc(str(uscc or "")).code
    except InvalidUSCC:
        raise field_error("uscc", N_("This is not a valid unified social credit code (GB 32100-2015).")) from None
    if row.status is BundleStatus.ISSUED:
        raise Conflict(N_("The licence of this joint application is issued already."))
    if row.status is not BundleStatus.ACCEPTED:
        raise Conflict(N_("The joint application is not accepted yet."))
    pending = [
        p.application.item.department.name
        for p in row.parts
        if p.application.decision is None or p.application.decision.outcome is not DecisionOutcome.APPROVE
    ]
    if pending:
        raise Conflict(N_("Not every department has approved yet: %(names)s."), params={"names": "、".join(pending)})
    for part in row.parts:
        require_paid(part.application)
    organisation_code = code[8:17]
    licence = licence_part(row)
    recorded = (
        f"统一社会信用代码：{code}\n组织机构代码：{organisation_code}（质监）\n"
        f"纳税人识别号（国税、地税税务登记）：{code}"
    )
    scope = str(row.answers.get("business_scope") or "")
    cert = certificates.issue(
        actor=actor,
        data={
            "item_code": licence.item.code,
            "kind": "licence",
            "title": licence.item.output_name or licence.item.name,
            "holder_kind": "organisation",
            "holder_name": str(row.answers.get("company_name") or row.applicant_name)[:200],
            "holder_code": code,
            "scope": (f"{scope}\n" if scope else "") + recorded,
            "valid_from": certificates.today().isoformat(),
            "case_number": licence.case_number,
        },
    )
    row.uscc, row.organisation_code, row.tax_number = code, organisation_code, code
    row.certificate_number = cert.number
    row.issued_at = now_utc()
    row.issued_by_id = actor.id
    row.status = BundleStatus.ISSUED
    db.session.flush()
    record(
        "permits.bundle.output_issued",
        actor=actor,
        subject=row.audit_ref,
        data={
            "number": row.number,
            "certificate": cert.number,
            "uscc": code,
            "organisation_code": organisation_code,
            "tax_number": code,
            "cases": [p.application.case_number for p in row.parts],
        },
    )
    return row


def definition_view(bundle: BundleDefinition) -> dict[str, Any]:
    union = union_form(bundle.items)
    return {
        "code": bundle.code,
        "name": bundle.name,
        "name_en": bundle.name_en,
        "licence_item": bundle.licence_item.code,
        "items": [
            {"code": i.code, "name": i.name, "department": i.department.name, "department_code": i.department.code}
            for i in bundle.items
        ],
        "attributes": form_schema.attributes(union),
        "form_schema": union,
        "materials": [
            {
                "key": m.key,
                "name": m.name,
                "always": m.always,
                "items": [i.code for i, _ in m.members],
            }
            for m in materials(bundle)
        ],
    }


def fingerprint(bundle: BundleDefinition) -> str:
    return hashlib.sha256(json.dumps(definition_view(bundle), sort_keys=True, default=str).encode()).hexdigest()
