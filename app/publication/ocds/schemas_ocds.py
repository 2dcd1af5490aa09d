"""The OCDS schemas kept in schema/: the release schema patched with the bids extension, and a validator for
release and record packages that resolves every reference locally."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
BASE = "https://standard.open-contracting.org/schema/"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return data


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: how an OCDS extension's release-schema.json applies to the release schema."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@cache
def release_schema() -> dict[str, Any]:
    """The release schema with the bids extension applied (the schema the releases are published under)."""
    patched: dict[str, Any] = merge_patch(load("release-schema.json"), load("bid_extension/release-schema.json"))
    return patched


def _resources() -> list[tuple[str, Resource[Any]]]:
    release = release_schema()
    record = load("record-schema.json")
    versioned = load("versioned-release-validation-schema.json")
    out: list[tuple[str, Resource[Any]]] = []
    for version in ("1__1__5", "1__2__0"):
        for name, doc in (
            ("release-schema.json", release),
            ("record-schema.json", record),
            ("versioned-release-validation-schema.json", versioned),
        ):
            out.append((f"{BASE}{version}/{name}", DRAFT4.create_resource(doc)))
    return out


@cache
def _registry() -> Registry[Any]:
    return Registry().with_resources(_resources())


@cache
def validator(kind: str) -> Draft4Validator:
    """A validator for 'release-package', 'record-package' or 'release' (the extended release schema)."""
    schema = release_schema() if kind == "release" else load(f"{kind}-schema.json")
    return Draft4Validator(schema, registry=_registry(), format_checker=FormatChecker())


def errors(kind: str, document: Any) -> list[str]:
    """Every validation error, as 'path: message' lines (empty when the document is valid)."""
    return [
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in sorted(validator(kind).iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]
