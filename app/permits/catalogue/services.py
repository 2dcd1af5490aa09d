"""Catalogue services: load a catalogue data file (idempotently), search items, read an item and its files.

A catalogue file is JSON: {"departments": [...], "files": {key: {path, name, content_type}}, "items": [...]}
(schema: `CatalogueArgs` below; the demo is demo_catalogue.json beside this module). Loading upserts
departments and items by code: an item whose entry (and files) did not change is left alone, so loading the
same file twice changes nothing and logs nothing; a changed item gets its fees and materials replaced. Items
missing from the file are kept (a catalogue is amended, never truncated by a partial file).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager

from app import audit
from app.core.db import LIKE_ESCAPE, db, like_pattern
from app.core.errors import NotFound, ValidationFailed
from app.core.fields import Integer
from app.core.problems import N_
from app.core.storage import DOCUMENTS, get_storage, validate_content_type, validate_filename
from app.core.time import now_utc
from app.permits.catalogue import conditions, form_schema
from app.permits.catalogue.models import (
    CatalogueFile,
    Channel,
    DayCount,
    Department,
    FeeKind,
    Item,
    ItemFee,
    ItemKind,
    ItemMaterial,
    MaterialRequirement,
)

CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
MAX_FILE_SIZE = 10 * 1024 * 1024
MAX_LIMIT_DAYS = 365
MAX_FEE_FEN = 10**12


class _Text(ma.fields.String):
    """Text without control characters other than line breaks and tabs."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if any(not c.isprintable() and c not in "\n\t" for c in text):
            raise ma.ValidationError("Control characters are not allowed.")
        return text


def _int(low: int, high: int, **kwargs: Any) -> Integer:
    return Integer(validate=validate.Range(min=low, max=high), **kwargs)


class DepartmentArgs(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Regexp(CODE))
    name = _Text(required=True, validate=validate.Length(min=1, max=100))
    name_en = _Text(load_default="", validate=validate.Length(max=200))
    window = _Text(load_default="", validate=validate.Length(max=100))
    phone = _Text(load_default="", validate=validate.Length(max=40))


class FileArgs(ma.Schema):
    path = ma.fields.String(required=True, validate=validate.Length(min=1, max=300))
    name = _Text(required=True, validate=validate.Length(min=1, max=200))
    content_type = ma.fields.String(load_default="application/octet-stream", validate=validate.Length(max=100))


class FeeArgs(ma.Schema):
    """A fee rule. `kind` fixed (amount once), per_unit (amount × the form's number attribute `per`) or free
    (amount 0); without `kind`, a rule is fixed when it has an amount and free when it has none. `kind` and `per`
    are left out of the loaded entry when not given, so older catalogue files keep their hashes."""

    name = _Text(required=True, validate=validate.Length(min=1, max=200))
    amount_fen = _int(0, MAX_FEE_FEN, required=True)
    unit = _Text(load_default="", validate=validate.Length(max=50))
    legal_basis = _Text(load_default="", validate=validate.Length(max=2000))
    kind = ma.fields.String(validate=validate.OneOf([k.value for k in FeeKind]))
    per = ma.fields.String(validate=validate.Length(min=1, max=40))

    @ma.validates_schema
    def _rule(self, data: dict[str, Any], **kwargs: Any) -> None:
        kind = fee_kind(data)
        if kind is FeeKind.FREE and data["amount_fen"] != 0:
            raise ma.ValidationError("A free fee has amount 0.", "amount_fen")
        if kind is not FeeKind.FREE and data["amount_fen"] == 0:
            raise ma.ValidationError("A fixed or per-unit fee has an amount above 0.", "amount_fen")
        if (kind is FeeKind.PER_UNIT) != bool(data.get("per")):
            raise ma.ValidationError("A per-unit fee names the form's number attribute it counts; others none.", "per")


def fee_kind(entry: dict[str, Any]) -> FeeKind:
    """A fee entry's kind: as given, else fixed with an amount and free without."""
    if entry.get("kind"):
        return FeeKind(entry["kind"])
    return FeeKind.FIXED if entry["amount_fen"] else FeeKind.FREE


class MaterialArgs(ma.Schema):
    name = _Text(required=True, validate=validate.Length(min=1, max=300))
    requirement = ma.fields.String(required=True, validate=validate.OneOf([r.value for r in MaterialRequirement]))
    condition = ma.fields.String(load_default=None, validate=validate.Length(max=conditions.MAX_SOURCE))
    originals = _int(0, 20, load_default=0)
    copies = _int(0, 20, load_default=0)
    note = _Text(load_default="", validate=validate.Length(max=1000))
    template = ma.fields.String(load_default=None, validate=validate.Length(max=60))
    sample = ma.fields.String(load_default=None, validate=validate.Length(max=60))

    @ma.validates_schema
    def _condition_matches_requirement(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data["requirement"] == MaterialRequirement.CONDITIONAL.value) != bool(data.get("condition")):
            raise ma.ValidationError("A conditional material has a condition; a required one has none.", "condition")


class OutputArgs(ma.Schema):
    name = _Text(load_default="", validate=validate.Length(max=200))
    validity_months = _int(1, 1200, load_default=None, allow_none=True)


class ItemArgs(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Regexp(CODE))
    name = _Text(required=True, validate=validate.Length(min=1, max=200))
    name_en = _Text(load_default="", validate=validate.Length(max=300))
    department = ma.fields.String(required=True, validate=validate.Regexp(CODE))
    kind = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in ItemKind]))
    description = _Text(load_default="", validate=validate.Length(max=5000))
    legal_basis = _Text(load_default="", validate=validate.Length(max=5000))
    statutory_limit_days = _int(1, MAX_LIMIT_DAYS, required=True)
    promised_limit_days = _int(1, MAX_LIMIT_DAYS, required=True)
    day_count = ma.fields.String(load_default="working", validate=validate.OneOf([d.value for d in DayCount]))
    acceptance_day_counts = ma.fields.Boolean(load_default=False)
    deemed_approval = ma.fields.Boolean(required=True)
    joint_mode = ma.fields.String(load_default="notify", validate=validate.OneOf(["notify", "meeting"]))
    output = ma.fields.Nested(OutputArgs, load_default=dict)
    channel = ma.fields.String(load_default="both", validate=validate.OneOf([c.value for c in Channel]))
    fees = ma.fields.List(ma.fields.Nested(FeeArgs), load_default=list, validate=validate.Length(max=20))
    form = ma.fields.Dict(required=True)
    materials = ma.fields.List(ma.fields.Nested(MaterialArgs), load_default=list, validate=validate.Length(max=60))

    @ma.validates_schema
    def _promise_within_law(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["promised_limit_days"] > data["statutory_limit_days"]:
            raise ma.ValidationError("The promised limit may not exceed the statutory limit.", "promised_limit_days")


class CatalogueArgs(ma.Schema):
    departments = ma.fields.List(ma.fields.Nested(DepartmentArgs), required=True, validate=validate.Length(max=500))
    files = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Regexp(CODE)),
        values=ma.fields.Nested(FileArgs),
        load_default=dict,
    )
    items = ma.fields.List(ma.fields.Nested(ItemArgs), required=True, validate=validate.Length(max=5000))


def _invalid(message: str, where: str, **params: Any) -> ValidationFailed:
    exc = ValidationFailed(message, params={"where": where, **params})
    exc.extra["errors"] = {where: [exc.detail]}
    return exc


def parse_catalogue(raw: Any) -> dict[str, Any]:
    """The catalogue's data, checked in full (schema, forms, conditions, references) before anything is stored."""
    if not isinstance(raw, dict):
        raise ValidationFailed(N_("The catalogue file is not valid."), errors={"_file": ["expected a JSON object"]})
    try:
        data: dict[str, Any] = CatalogueArgs().load(raw)
    except ma.ValidationError as exc:
        raise ValidationFailed(N_("The catalogue file is not valid."), errors=dict(exc.messages_dict)) from None
    departments = {d["code"] for d in data["departments"]}
    if len(departments) != len(data["departments"]):
        raise _invalid(N_("%(where)s: department codes must be unique"), "departments")
    codes: set[str] = set()
    for i, item in enumerate(data["items"]):
        where = f"items.{i}"
        if item["code"] in codes:
            raise _invalid(N_("%(where)s: item code %(code)s appears twice"), where, code=item["code"])
        codes.add(item["code"])
        if item["department"] not in departments and not _department_exists(item["department"]):
            raise _invalid(N_("%(where)s: unknown department %(code)s"), where, code=item["department"])
        try:
            form_schema.validate_schema(item["form"])
        except ValidationFailed as exc:
            raise _invalid(N_("%(where)s: %(problem)s"), where + ".form", problem=exc.detail) from None
        numbers = {k for k, p in item["form"]["properties"].items() if p.get("x-datatype") == "number"}
        for j, fee in enumerate(item["fees"]):
            if fee.get("per") and fee["per"] not in numbers:
                raise _invalid(
                    N_("%(where)s: a per-unit fee counts a number attribute of the form, not %(code)s"),
                    f"{where}.fees.{j}",
                    code=fee["per"],
                )
        for j, material in enumerate(item["materials"]):
            for ref in ("template", "sample"):
                if material[ref] is not None and material[ref] not in data["files"]:
                    raise _invalid(N_("%(where)s: unknown file %(code)s"), f"{where}.materials.{j}", code=material[ref])
            if material["condition"]:
                try:
                    material["condition_tree"] = conditions.compile_condition(material["condition"], item["form"])
                except ValidationFailed as exc:
                    raise _invalid(
                        N_("%(where)s: %(problem)s"), f"{where}.materials.{j}.condition", problem=exc.detail
                    ) from None
    return data


def _department_exists(code: str) -> bool:
    return db.session.scalar(select(Department.id).where(Department.code == code)) is not None


def _read_file(base: Path | Mapping[str, bytes], spec: dict[str, Any], key: str) -> bytes:
    if isinstance(base, Mapping):  # a bundle's members, already read and checked (read_bundle)
        body = base.get(_member_name(str(spec["path"])))
        if body is None:
            raise _invalid(
                N_("%(where)s: the bundle has no file %(code)s"), f"files.{key}", code=str(spec["path"])[:200]
            )
        return body
    root = base.resolve()
    path = (root / str(spec["path"])).resolve()
    if root not in path.parents or not path.is_file():
        raise _invalid(N_("%(where)s: the file must be inside the catalogue's folder"), f"files.{key}")
    if path.stat().st_size > MAX_FILE_SIZE:
        raise _invalid(N_("%(where)s: a file has at most %(limit)s bytes"), f"files.{key}", limit=MAX_FILE_SIZE)
    return path.read_bytes()


def _store_file(body: bytes, spec: dict[str, Any]) -> CatalogueFile:
    digest = hashlib.sha256(body).hexdigest()
    found: CatalogueFile | None = db.session.scalar(select(CatalogueFile).where(CatalogueFile.sha256 == digest))
    if found is not None:
        return found
    content_type = validate_content_type(spec["content_type"])
    name = validate_filename(spec["name"])
    key = f"permits/catalogue/{digest}"
    storage = get_storage()
    if not storage.exists(DOCUMENTS, key):  # write-once and content-addressed: the same bytes are stored once
        info = storage.put(DOCUMENTS, key, body, length=len(body), content_type=content_type)
        if info.sha256 != digest:  # pragma: no cover - the store hashes what it received
            raise ValidationFailed(N_("The stored file does not match its hash."))
    row = CatalogueFile(sha256=digest, name=name, content_type=content_type, size=len(body), bucket=DOCUMENTS, key=key)
    db.session.add(row)
    db.session.flush()
    return row


def _spec_hash(entry: dict[str, Any], files: dict[str, str]) -> str:
    """The entry as loaded (and the SHA-256 of each file it names), canonical: equal hashes, nothing to do."""
    canonical = json.dumps({"entry": entry, "files": files}, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_catalogue(
    raw: Any, *, base: Path | Mapping[str, bytes], actor: Any = None, source: str = ""
) -> dict[str, int]:
    """Create or update departments and items from a catalogue's data; counts of what changed. Flushes.

    `base` is the folder its files are named relative to, or a bundle's members by name (read_bundle).
    """
    data = parse_catalogue(raw)
    counts = {"departments_created": 0, "departments_updated": 0, "items_created": 0, "items_updated": 0}
    counts["items_unchanged"] = 0
    by_code = {d.code: d for d in db.session.scalars(select(Department))}
    for position, spec in enumerate(data["departments"], start=1):
        dept = by_code.get(spec["code"])
        values = {**spec, "position": position}
        if dept is None:
            dept = Department(**values)
            db.session.add(dept)
            by_code[dept.code] = dept
            counts["departments_created"] += 1
        elif any(getattr(dept, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(dept, k, v)
            counts["departments_updated"] += 1
    db.session.flush()

    bodies = {key: _read_file(base, spec, key) for key, spec in data["files"].items()}
    digests = {key: hashlib.sha256(body).hexdigest() for key, body in bodies.items()}
    stored: dict[str, CatalogueFile] = {}

    def file_row(key: str) -> CatalogueFile:
        if key not in stored:
            stored[key] = _store_file(bodies[key], data["files"][key])
        return stored[key]

    items = {i.code: i for i in db.session.scalars(select(Item))}
    for entry in data["items"]:
        used = {m[r]: digests[m[r]] for m in entry["materials"] for r in ("template", "sample") if m[r]}
        used_specs = {k: data["files"][k] for k in used}
        digest = _spec_hash(
            entry, {**used, **{f"{k}.spec": json.dumps(v, sort_keys=True) for k, v in used_specs.items()}}
        )
        item = items.get(entry["code"])
        if item is not None and item.spec_sha256 == digest:
            counts["items_unchanged"] += 1
            continue
        rows = {key: file_row(key) for key in used}  # stored (and flushed) before the item is half-built
        if item is None:
            item = Item(code=entry["code"], spec_sha256=digest)
            db.session.add(item)
            counts["items_created"] += 1
        else:
            item.fees.clear()
            item.materials.clear()
            db.session.flush()  # the old rows go before the new ones take their positions
            counts["items_updated"] += 1
        _apply(item, entry, by_code[entry["department"]], rows.get)
        item.spec_sha256 = digest
        item.updated_at = now_utc()
    db.session.flush()
    if any(v for k, v in counts.items() if k != "items_unchanged"):
        audit.record(
            "permits.catalogue.loaded",
            actor=actor,
            subject="permits:catalogue",
            data={**counts, "source": source[:200], "items_in_file": len(data["items"])},
        )
    return counts


def _apply(item: Item, entry: dict[str, Any], department: Department, file_row: Any) -> None:
    item.name = entry["name"]
    item.name_en = entry["name_en"]
    item.department = department
    item.kind = ItemKind(entry["kind"])
    item.description = entry["description"]
    item.legal_basis = entry["legal_basis"]
    item.statutory_limit_days = entry["statutory_limit_days"]
    item.promised_limit_days = entry["promised_limit_days"]
    item.day_count = DayCount(entry["day_count"])
    item.acceptance_day_counts = entry["acceptance_day_counts"]
    item.deemed_approval = entry["deemed_approval"]
    item.joint_mode = entry["joint_mode"]
    item.output_name = entry["output"].get("name", "")
    item.output_validity_months = entry["output"].get("validity_months")
    item.channel = Channel(entry["channel"])
    item.form_schema = entry["form"]
    item.fees = [
        ItemFee(
            position=i,
            name=fee["name"],
            amount_fen=fee["amount_fen"],
            unit=fee["unit"],
            legal_basis=fee["legal_basis"],
            kind=fee_kind(fee),
            per=fee.get("per"),
        )
        for i, fee in enumerate(entry["fees"], start=1)
    ]
    item.materials = [
        ItemMaterial(
            position=i,
            name=m["name"],
            requirement=MaterialRequirement(m["requirement"]),
            condition=m["condition"],
            condition_tree=m.get("condition_tree"),
            originals=m["originals"],
            copies=m["copies"],
            note=m["note"],
            template=file_row(m["template"]) if m["template"] else None,
            sample=file_row(m["sample"]) if m["sample"] else None,
        )
        for i, m in enumerate(entry["materials"], start=1)
    ]


def load_catalogue_file(path: Path, *, actor: Any = None) -> dict[str, int]:
    """Load a catalogue JSON file (its template and sample files are named relative to it)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed(
            N_("The catalogue file cannot be read: %(reason)s"), params={"reason": str(exc)[:200]}
        ) from None
    return load_catalogue(raw, base=path.parent, actor=actor, source=path.name)


MAX_BUNDLE_SIZE = 64 * 1024 * 1024  # the uploaded bundle and the sum of its members, uncompressed
MAX_BUNDLE_MEMBERS = 1000
BUNDLE_DATA = "catalogue.json"


def _member_name(path: str) -> str:
    return path.replace("\\", "/").removeprefix("./")


def read_bundle(body: bytes) -> tuple[Any, dict[str, bytes]]:
    """A catalogue as uploaded: its JSON alone, or a ZIP of catalogue.json and the files it names.

    The ZIP is hostile until read: members with absolute or `..` names, links, encryption, more than
    MAX_BUNDLE_MEMBERS members, a member over MAX_FILE_SIZE or a total over MAX_BUNDLE_SIZE (as inflated, not as
    declared) are refused with a ValidationFailed before anything is stored.
    """
    if len(body) > MAX_BUNDLE_SIZE:
        raise ValidationFailed(N_("A catalogue upload has at most %(limit)s bytes."), params={"limit": MAX_BUNDLE_SIZE})
    members: dict[str, bytes] = {}
    if body[:4] == b"PK\x03\x04":
        members = _unzip(body)
        data = members.pop(BUNDLE_DATA, None)
        if data is None:
            raise ValidationFailed(N_("The ZIP file has no catalogue.json at its top level."))
    else:
        data = body
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed(
            N_("The catalogue file cannot be read: %(reason)s"), params={"reason": str(exc)[:200]}
        ) from None
    return raw, members


def _unzip(body: bytes) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ValidationFailed(N_("The ZIP file is damaged.")) from None
    if len(infos) > MAX_BUNDLE_MEMBERS:
        raise ValidationFailed(N_("A bundle holds at most %(limit)s files."), params={"limit": MAX_BUNDLE_MEMBERS})
    members: dict[str, bytes] = {}
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        name = _member_name(info.filename)
        is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
        if name.startswith("/") or ".." in name.split("/") or ":" in name or is_link or info.flag_bits & 0x1:
            raise ValidationFailed(
                N_("The ZIP file holds a member that may not be read: %(name)s"), params={"name": name[:200]}
            )
        limit = MAX_FILE_SIZE if name != BUNDLE_DATA else MAX_BUNDLE_SIZE
        try:
            with archive.open(info) as stream:
                content = stream.read(limit + 1)  # inflate no more than the limit, whatever the header declares
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError):
            raise ValidationFailed(N_("The ZIP file is damaged.")) from None
        total += len(content)
        if len(content) > limit or total > MAX_BUNDLE_SIZE:
            raise ValidationFailed(
                N_("%(name)s is too large: a file has at most %(limit)s bytes."),
                params={"name": name[:200], "limit": limit},
            )
        members[name] = content
    return members


def load_catalogue_upload(body: bytes, *, filename: str, actor: Any) -> dict[str, int]:
    """Load a catalogue uploaded by an administrator (its JSON, or a ZIP bundle with its files). Flushes."""
    raw, members = read_bundle(body)
    return load_catalogue(raw, base=members, actor=actor, source=f"upload:{filename}"[:200])


DEMO_CATALOGUE = Path(__file__).resolve().parent / "demo_catalogue.json"


def seed_demo_catalogue() -> list[str]:
    """The demo catalogue for `make run` (idempotent: a second run changes nothing)."""
    counts = load_catalogue_file(DEMO_CATALOGUE, actor="system:demo")
    if counts["items_created"] or counts["items_updated"]:
        return [f"permit catalogue: {counts['items_created']} items created, {counts['items_updated']} updated"]
    return []


# --- reading ------------------------------------------------------------------------------------------


def list_departments() -> list[tuple[Department, int]]:
    """Departments in the catalogue's order, each with its number of items."""
    counts = dict(
        db.session.execute(select(Item.department_id, func.count(Item.id)).group_by(Item.department_id)).all()
    )
    rows = db.session.scalars(select(Department).order_by(Department.position, Department.code))
    return [(d, int(counts.get(d.id, 0))) for d in rows]


def search_items(
    *, q: str | None = None, kind: str | None = None, department: str | None = None, page: int = 1, per_page: int = 20
) -> tuple[list[Item], int]:
    """Items whose name, English name, code or department name contain `q`, filtered by kind and department."""
    stmt = select(Item).join(Department, Item.department_id == Department.id)
    if q:
        pattern = like_pattern(q.strip().lower())
        stmt = stmt.where(
            or_(
                func.lower(Item.name).like(pattern, escape=LIKE_ESCAPE),
                func.lower(Item.name_en).like(pattern, escape=LIKE_ESCAPE),
                func.lower(Item.code).like(pattern, escape=LIKE_ESCAPE),
                func.lower(Department.name).like(pattern, escape=LIKE_ESCAPE),
            )
        )
    if kind:
        stmt = stmt.where(Item.kind == ItemKind(kind))
    if department:
        stmt = stmt.where(Department.code == department)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(  # the department comes with its item: the list shows its name (no query per row)
        stmt.options(contains_eager(Item.department))
        .order_by(Department.position, Item.code)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), int(total)


def get_item(code: str) -> Item:
    item: Item | None = db.session.scalar(select(Item).where(Item.code == code)) if len(code) <= 40 else None
    if item is None:
        raise NotFound(N_("No such item in the catalogue."))
    return item


def get_file(sha256: str) -> CatalogueFile:
    """A template or sample file named by an item's material (only those are served)."""
    found: CatalogueFile | None = None
    if len(sha256) == 64:
        found = db.session.scalar(select(CatalogueFile).where(CatalogueFile.sha256 == sha256))
    if found is None:
        raise NotFound(N_("No such file in the catalogue."))
    return found


def required_materials(item: Item, answers: dict[str, Any]) -> list[ItemMaterial]:
    """The materials this application needs: every required one and the conditional ones whose condition holds."""
    return [
        m
        for m in item.materials
        if m.requirement is MaterialRequirement.REQUIRED
        or (m.condition_tree and conditions.evaluate(m.condition_tree, answers))
    ]
