"""The bid envelope archive: what every sealing path seals and the opening reads."""

from __future__ import annotations

import io
import subprocess
import tarfile

import pytest

from crypto.envelope import EnvelopeError, read_envelope, write_envelope


def test_roundtrip_with_chinese_names_and_streamed_files() -> None:
    buf = io.BytesIO()
    payload = b"x" * 200_000
    write_envelope(
        buf,
        {"price": 1234500, "currency": "CNY", "工期": "90天"},
        [("技术方案.pdf", io.BytesIO(payload), len(payload))],
    )
    buf.seek(0)
    got: dict[str, bytes] = {}
    contents = read_envelope(buf, lambda name, fh, size: got.__setitem__(name, fh.read()))
    assert contents.form == {"price": 1234500, "currency": "CNY", "工期": "90天"}
    assert contents.files == [("技术方案.pdf", len(payload))]
    assert got["技术方案.pdf"] == payload


def test_tar_made_by_the_tar_command_is_read(tmp_path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "form.json").write_text('{"price": 10}')
    (tmp_path / "files" / "a.txt").write_text("hello")
    out = subprocess.run(
        ["tar", "-C", str(tmp_path), "-cf", "-", "form.json", "files"], capture_output=True, check=True
    )
    contents = read_envelope(io.BytesIO(out.stdout))
    assert contents.form == {"price": 10}
    assert contents.files == [("a.txt", 5)]


def _tar(members: list[tuple[str, bytes]], kind: bytes = tarfile.REGTYPE) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.type = kind
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([("../evil", b"x")], "unsafe"),
        ([("/etc/passwd", b"x")], "unsafe"),
        ([("files/../../x", b"x")], "unsafe"),
        ([("form.json", b"[1,2]")], "JSON object"),
        ([("form.json", b"\xff\xfe")], "UTF-8"),
        ([("other.txt", b"x")], "unexpected member"),
        ([("files/a", b"1"), ("files/a", b"2")], "twice"),
    ],
)
def test_hostile_archives_are_refused(members: list[tuple[str, bytes]], message: str) -> None:
    with pytest.raises(EnvelopeError, match=message):
        read_envelope(_tar(members))


def test_symlinks_and_garbage_are_refused() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("files/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/shadow"
        tar.addfile(info)
    buf.seek(0)
    with pytest.raises(EnvelopeError, match="not a regular file"):
        read_envelope(buf)
    with pytest.raises(EnvelopeError, match="not a valid tar"):
        read_envelope(io.BytesIO(b"this is not a tar archive at all" * 40))
