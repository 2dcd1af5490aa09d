"""Signed download links for the filesystem object store, and the `flask storage` commands."""

from __future__ import annotations

from typing import Any

import click
from flask import Blueprint, Flask, Response, request

from app.core.errors import NotFound, PermissionDenied, ValidationFailed, problem
from app.core.security import public
from app.core.storage import WRITE_ONCE, FilesystemStorage, MinioStorage, content_disposition, get_storage

bp = Blueprint("storage", __name__)


@bp.get("/files/<bucket>/<path:key>")
@public  # the HMAC signature in the query string is the whole authorisation
def download(bucket: str, key: str) -> Any:
    storage = get_storage()
    if not isinstance(storage, FilesystemStorage):
        return problem(404, "Not found", "Downloads are served by the object store.", "not-found")
    filename = request.args.get("fn", "")
    try:
        storage.verify_signature(
            bucket, key, exp=request.args.get("exp", ""), filename=filename, signature=request.args.get("sig", "")
        )
    except PermissionDenied as err:
        return problem(403, err.title, err.detail, err.code)
    try:
        info = storage.stat(bucket, key)
    except (NotFound, ValidationFailed):
        return problem(404, "Not found", "The object no longer exists.", "not-found")

    etag = f'"{info.sha256}"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        # Uploaded content is never rendered from our origin: always a download, never sniffed or scripted.
        "Content-Disposition": content_disposition(filename) if filename else "attachment",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-cache",
    }
    status, start, end = 200, None, None
    byte_range = request.range
    if_range = request.headers.get("If-Range")
    # A multi-range or non-byte request, or a stale If-Range, gets the whole object (RFC 9110 allows it).
    if byte_range and byte_range.units == "bytes" and len(byte_range.ranges) == 1 and if_range in {None, etag}:
        span = byte_range.range_for_length(info.size)
        if span is None:
            resp = problem(416, "Range not satisfiable", f"The object has {info.size} bytes.", "range-not-satisfiable")
            resp.headers["Content-Range"] = f"bytes */{info.size}"
            return resp
        status, start, end = 206, span[0], span[1] - 1
        headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
    try:
        chunks = storage.get(bucket, key, start=start, end=end)
    except NotFound:
        return problem(404, "Not found", "The object no longer exists.", "not-found")
    length = info.size if start is None or end is None else end - start + 1
    headers["Content-Length"] = str(length)
    return Response(chunks, status=status, headers=headers, content_type=info.content_type, direct_passthrough=True)


def register_cli(app: Flask) -> None:
    group = click.Group("storage", help="Object storage maintenance.")

    @group.command("ensure-buckets")
    def ensure_buckets() -> None:
        """Create the platform's buckets (idempotent) and report object lock."""
        storage = app.extensions["storage"]
        storage.ensure_buckets()
        click.echo(f"buckets ready on {storage!r}")
        if isinstance(storage, MinioStorage):
            for name in sorted(WRITE_ONCE):
                state = "object lock (COMPLIANCE)" if storage.is_locked(name) else "write-once enforced in code only"
                click.echo(f"  {storage.bucket_name(name)}: {state}")

    app.cli.add_command(group)
