"""The plaintext inside a sealed bid envelope: a POSIX ustar archive with `form.json` first.

Every sealing path (the `age` CLI over a tar made by hand, `python -m crypto`, the browser) seals the
same thing, so the opening reads one format:

    form.json          the bid form (开标一览表 fields) as UTF-8 JSON; required in the envelope that
                       carries the form, optional in others
    files/<name>       attached documents, any number, names in UTF-8 (PAX headers for long names)

Reading is streaming (tarfile's "r|" mode): constant memory for any archive size. Names are checked
against traversal and duplicates; only regular files and directories are accepted.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

FORM_NAME = "form.json"
FILES_DIR = "files/"
MAX_FORM_BYTES = 1024 * 1024
MAX_MEMBERS = 10_000


class EnvelopeError(Exception):
    """The decrypted envelope is not a valid bid archive; the message says which rule failed."""


@dataclass
class EnvelopeContents:
    form: dict[str, Any] | None = None
    files: list[tuple[str, int]] = field(default_factory=list)  # (name, size)


def _check_name(name: str) -> str:
    if name.startswith("./"):
        name = name[2:]
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or "\x00" in name or any(p in {"", ".", ".."} for p in parts):
        raise EnvelopeError(f"unsafe member name {name!r}")
    return name


def write_envelope(dst: IO[bytes], form: dict[str, Any] | None, files: Iterable[tuple[str, IO[bytes], int]]) -> None:
    """Write an envelope archive: the form first, then each (name, stream, size) under files/."""
    with tarfile.open(fileobj=dst, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        if form is not None:
            data = json.dumps(form, ensure_ascii=False, sort_keys=True).encode()
            info = tarfile.TarInfo(FORM_NAME)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
        for name, stream, size in files:
            info = tarfile.TarInfo(FILES_DIR + _check_name(name))
            info.size = size
            info.mode = 0o644
            tar.addfile(info, stream)


def read_envelope(src: IO[bytes], on_file: Callable[[str, IO[bytes], int], None] | None = None) -> EnvelopeContents:
    """Stream through an envelope archive, parse the form and hand each attached file to `on_file`.

    Raises EnvelopeError for anything that is not a well-formed bid archive.
    """
    out = EnvelopeContents()
    seen: set[str] = set()
    try:
        with tarfile.open(fileobj=src, mode="r|*") as tar:
            for count, member in enumerate(tar, start=1):
                if count > MAX_MEMBERS:
                    raise EnvelopeError(f"more than {MAX_MEMBERS} members")
                name = _check_name(member.name.rstrip("/") if member.isdir() else member.name)
                if member.isdir():
                    continue
                if not member.isfile():
                    raise EnvelopeError(f"member {name!r} is not a regular file")
                if name in seen:
                    raise EnvelopeError(f"member {name!r} appears twice")
                seen.add(name)
                fh = tar.extractfile(member)
                if fh is None:
                    raise EnvelopeError(f"member {name!r} cannot be read")
                if name == FORM_NAME:
                    if member.size > MAX_FORM_BYTES:
                        raise EnvelopeError("form.json is larger than 1 MiB")
                    try:
                        form = json.loads(fh.read().decode("utf-8"))
                    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                        raise EnvelopeError(f"form.json is not UTF-8 JSON: {exc}") from exc
                    if not isinstance(form, dict):
                        raise EnvelopeError("form.json must hold a JSON object")
                    out.form = form
                elif name.startswith(FILES_DIR):
                    out.files.append((name[len(FILES_DIR) :], member.size))
                    if on_file is not None:
                        on_file(name[len(FILES_DIR) :], fh, member.size)
                else:
                    raise EnvelopeError(f"unexpected member {name!r}: only form.json and files/… are allowed")
    except tarfile.TarError as exc:
        raise EnvelopeError(f"not a valid tar archive: {exc}") from exc
    return out
