"""STORAGE_URL parsing and Flask wiring."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask, current_app

from app.core.storage.base import (
    _PREFIX,
    DEFAULT_RETENTION_DAYS,
    ObjectStorage,
    StorageConfigError,
)
from app.core.storage.filesystem import FilesystemStorage
from app.core.storage.s3 import MinioStorage

# --- configuration and Flask wiring ------------------------------------------------------------------


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"


def storage_from_url(url: str, *, secret: str | bytes = b"") -> FilesystemStorage | MinioStorage:
    """Build the backend STORAGE_URL names: file:///abs/path or s3://KEY:SECRET@HOST:PORT/PREFIX?secure=0."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in {"", "localhost"} or not os.path.isabs(path) or parts.query:
            raise StorageConfigError(f"STORAGE_URL {url!r}: expected file:///absolute/path without options.")
        return FilesystemStorage(Path(path), secret=secret)
    if parts.scheme != "s3":
        raise StorageConfigError(f"STORAGE_URL {_redacted(url)!r}: the scheme must be file:// or s3://.")
    where = _redacted(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise StorageConfigError(f"STORAGE_URL {where!r}: the port is not a number.") from exc
    host = parts.hostname
    access_key, secret_key = unquote(parts.username or ""), unquote(parts.password or "")
    if not host or not access_key or not secret_key:
        raise StorageConfigError(f"STORAGE_URL {where!r}: expected s3://ACCESS:SECRET@HOST[:PORT]/PREFIX.")
    prefix = parts.path.strip("/")
    if prefix and not _PREFIX.match(prefix):
        raise StorageConfigError(f"STORAGE_URL {where!r}: the prefix must be 1-40 of a-z, 0-9 and '-'.")
    try:
        options = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise StorageConfigError(f"STORAGE_URL {where!r}: the query string is malformed.") from exc
    unknown = set(options) - {"secure", "region", "retention_days"}
    if unknown or any(len(v) != 1 for v in options.values()):
        raise StorageConfigError(f"STORAGE_URL {where!r}: unknown or repeated options {sorted(unknown) or ''}.")
    flat = {k: v[0] for k, v in options.items()}
    secure_raw = flat.get("secure", "1").lower()
    if secure_raw not in {"0", "1", "true", "false", "yes", "no"}:
        raise StorageConfigError(f"STORAGE_URL {where!r}: secure must be 0 or 1.")
    try:
        retention_days = int(flat.get("retention_days", DEFAULT_RETENTION_DAYS))
    except ValueError as exc:
        raise StorageConfigError(f"STORAGE_URL {where!r}: retention_days must be a whole number.") from exc
    if retention_days < 1:
        raise StorageConfigError(f"STORAGE_URL {where!r}: retention_days must be at least 1.")
    endpoint = f"[{host}]" if ":" in host else host
    return MinioStorage(
        endpoint=f"{endpoint}:{port}" if port else endpoint,
        access_key=access_key,
        secret_key=secret_key,
        secure=secure_raw in {"1", "true", "yes"},
        region=flat.get("region") or "us-east-1",
        prefix=prefix,
        retention_days=retention_days,
    )


def get_storage() -> ObjectStorage:
    """The current app's object store."""
    storage: ObjectStorage = current_app.extensions["storage"]
    return storage


def init_app(app: Flask) -> None:
    storage = storage_from_url(app.config["STORAGE_URL"], secret=app.config["SECRET_KEY"] or b"")
    app.extensions["storage"] = storage
    if isinstance(storage, FilesystemStorage):
        storage.ensure_buckets()  # a few mkdirs; S3 buckets are made lazily on first use

    from app.core.storage_views import bp, register_cli

    app.register_blueprint(bp)
    register_cli(app)
