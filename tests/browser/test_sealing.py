"""Sealing a bid in headless Chromium with app/static/dist/seal.js; opening it with crypto.age and the age CLI.

A small threaded HTTP server serves the bundles, the harness page, a sink for sealed files and an in-memory
tus 1.0 endpoint that drops a connection half-way through a chunk and answers 503 once, to show the uploader
resumes from the server's offset.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import shutil
import socket
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crypto.age import X25519Identity, decrypt, decrypt_bytes, parse_header
from crypto.envelope import read_envelope
from tests.browser.conftest import ARGS, CHROMIUM, require_chromium
from tests.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "app" / "static" / "dist"
HARNESS = Path(__file__).with_name("sealing_harness.html")
BIG = 3 * 1024 * 1024 + 12345
CHUNK = 64 * 1024
FORM = {"price": "1234567.89", "currency": "CNY", "投标人": "某某建设有限公司", "工期_天": 180, "items": [1, 2.5]}
SMALL_NAME = "技术方案.pdf"
SMALL = "%PDF-1.7 技术方案 — not really a PDF\n".encode()

pytestmark = pytest.mark.browser


def pattern(n: int) -> bytes:
    """The same bytes as harness.pattern(n) in the page."""
    return bytes((i * 31 + 7) & 255 for i in range(n))


@pytest.fixture(scope="session")
def bundles() -> Path:
    """app/static/dist/seal.js, (re)built by `make -f make/assets.mk assets` whenever npm is here."""
    if shutil.which("npm") and shutil.which("make"):
        done = subprocess.run(
            ["make", "-f", "make/assets.mk", "assets"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"building the browser bundles failed:\n{done.stdout}\n{done.stderr}")
    elif not (DIST / "seal.js").exists():
        pytest.fail("app/static/dist/seal.js is missing and npm is not installed: run `make assets` (needs Node.js)")
    for name in ("seal.js", "replay.js"):
        if not (DIST / name).exists():
            pytest.fail(f"the build did not produce app/static/dist/{name}")
    return DIST


@dataclass
class Upload:
    length: int
    metadata: str
    data: bytearray = field(default_factory=bytearray)


@dataclass
class State:
    sealed: dict[str, bytes] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)
    log: list[tuple[str, int | None]] = field(default_factory=list)  # (method, offset sent or returned)
    faults: list[str | None] = field(default_factory=list)  # what to do to the next PATCH requests: "drop", "503"
    lock: threading.Lock = field(default_factory=threading.Lock)


def make_handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so a dropped connection is never retried by the browser itself.
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        def _json(self, status: int, upload_id: str) -> None:
            upload = state.uploads[upload_id]
            body = {"id": upload_id, "envelope": upload.metadata, "size": upload.length, "offset": len(upload.data)}
            self._send(status, {"Content-Type": "application/json"}, json.dumps(body).encode())

        def do_PUT(self) -> None:
            # The tendering API's chunk upload: Content-Range bytes START-END/TOTAL, 409 on a wrong offset.
            upload_id = self.path.removeprefix("/api/v1/uploads/")
            upload = state.uploads.get(upload_id)
            if upload is None:
                self._send(404)
                return
            unit, _, spec = self.headers["Content-Range"].partition(" ")
            first, _, rest = spec.partition("-")
            last, _, total = rest.partition("/")
            body = self._body()
            start = int(first)
            with state.lock:
                state.log.append(("PUT", start))
                fault = state.faults.pop(0) if state.faults else None
            if unit != "bytes" or int(total) != upload.length or int(last) - start + 1 != len(body):
                self._send(400)
            elif start != len(upload.data):
                self._send(
                    409, {"Content-Type": "application/problem+json"}, json.dumps({"offset": len(upload.data)}).encode()
                )
            elif fault == "drop":
                upload.data += body[: len(body) // 2]
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif fault == "503":
                self._send(503)
            else:
                upload.data += body
                self._json(200, upload_id)

        def do_GET(self) -> None:
            if self.path.startswith("/api/v1/uploads/") and self.path[16:] in state.uploads:
                with state.lock:
                    state.log.append(("GET", len(state.uploads[self.path[16:]].data)))
                self._json(200, self.path[16:])
            elif self.path == "/harness.html":
                self._send(200, {"Content-Type": "text/html; charset=utf-8"}, HARNESS.read_bytes())
            elif self.path == "/replay.html":
                page = b'<!doctype html><meta charset="utf-8"><script src="/dist/replay.js"></script><video></video>'
                self._send(200, {"Content-Type": "text/html; charset=utf-8"}, page)
            elif self.path.startswith("/dist/") and "/" not in self.path[6:] and (DIST / self.path[6:]).is_file():
                kind = "text/javascript" if self.path.endswith(".js") else "application/octet-stream"
                self._send(200, {"Content-Type": kind}, (DIST / self.path[6:]).read_bytes())
            else:
                self._send(404)

        def do_POST(self) -> None:
            if self.path.startswith("/sealed/"):
                state.sealed[self.path[8:]] = self._body()
                self._send(204)
            elif self.path == "/api/v1/tenders/7/uploads":
                args = json.loads(self._body())
                with state.lock:
                    upload_id = f"p{len(state.uploads) + 1}"
                    state.uploads[upload_id] = Upload(args["size"], args["envelope"])
                    state.log.append(("POST", None))
                self._json(201, upload_id)
            elif self.path.startswith("/api/v1/uploads/") and self.path.endswith("/complete"):
                upload = state.uploads[self.path.split("/")[4]]
                with state.lock:
                    state.log.append(("complete", len(upload.data)))
                if len(upload.data) != upload.length:
                    self._send(409)
                else:
                    self._send(
                        200,
                        {"Content-Type": "application/json"},
                        json.dumps({"sha256": hashlib.sha256(upload.data).hexdigest()}).encode(),
                    )
            elif self.path == "/files/":
                if self.headers.get("Tus-Resumable") != "1.0.0":
                    self._send(412)
                    return
                with state.lock:
                    upload_id = f"u{len(state.uploads) + 1}"
                    state.uploads[upload_id] = Upload(
                        int(self.headers["Upload-Length"]), self.headers.get("Upload-Metadata", "")
                    )
                    state.log.append(("POST", None))
                self._send(201, {"Location": f"/files/{upload_id}", "Tus-Resumable": "1.0.0"})
            else:
                self._send(404)

        def do_HEAD(self) -> None:
            upload = state.uploads.get(self.path.removeprefix("/files/"))
            if upload is None:
                self._send(404)
                return
            with state.lock:
                state.log.append(("HEAD", len(upload.data)))
            self._send(
                200,
                {
                    "Upload-Offset": str(len(upload.data)),
                    "Upload-Length": str(upload.length),
                    "Tus-Resumable": "1.0.0",
                    "Cache-Control": "no-store",
                },
            )

        def do_PATCH(self) -> None:
            upload = state.uploads.get(self.path.removeprefix("/files/"))
            if upload is None:
                self._send(404)
                return
            offset = int(self.headers["Upload-Offset"])
            body = self._body()
            with state.lock:
                state.log.append(("PATCH", offset))
                fault = state.faults.pop(0) if state.faults else None
            if self.headers.get("Content-Type") != "application/offset+octet-stream":
                self._send(415)
            elif offset != len(upload.data):
                self._send(409, {"Tus-Resumable": "1.0.0"})
            elif fault == "drop":
                # Keep half of what arrived, then hang up without an answer, like a proxy dying mid-request.
                upload.data += body[: len(body) // 2]
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif fault == "503":
                self._send(503, {"Retry-After": "0"})
            elif len(upload.data) + len(body) > upload.length:
                self._send(413)
            else:
                upload.data += body
                self._send(204, {"Upload-Offset": str(len(upload.data)), "Tus-Resumable": "1.0.0"})

    return Handler


@dataclass
class Server:
    url: str
    state: State


@pytest.fixture
def server(bundles: Path) -> Iterator[Server]:
    state = State()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{httpd.server_port}", state)
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.fixture
def page(server: Server) -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(server.url + "/harness.html")
            page.wait_for_function("() => window.PlatformSeal !== undefined", timeout=15_000)
            page.set_default_timeout(120_000)
            yield page
            assert errors == [], f"uncaught errors in the page: {errors}"
        finally:
            browser.close()


SEAL_BID = """async ([form, smallName, small, big, recipients]) => {
  const S = window.PlatformSeal;
  const files = [
    new File([new Uint8Array(small)], smallName, { type: "application/pdf" }),
    { name: "big.bin", data: harness.pattern(big) },
  ];
  const envelope = S.buildEnvelope({ form, files });
  const progress = [];
  const sealed = await S.sealEnvelope(envelope, recipients, (done, total) => progress.push([done, total]));
  await harness.post("bid", sealed);
  return { envelopeSize: envelope.size, sealedSize: sealed.size, sha256: await S.sha256Hex(sealed), progress };
}"""


@dataclass
class Sealed:
    ciphertext: bytes
    result: dict[str, Any]
    identity: X25519Identity
    own: X25519Identity


@pytest.fixture
def sealed_bid(page: Any, server: Server) -> Sealed:
    identity, own = X25519Identity.generate(), X25519Identity.generate()
    recipients = [str(identity.recipient), str(own.recipient)]
    result = page.evaluate(SEAL_BID, [FORM, SMALL_NAME, list(SMALL), BIG, recipients])
    return Sealed(server.state.sealed["bid"], result, identity, own)


def open_envelope(plaintext: bytes) -> tuple[dict[str, Any] | None, dict[str, bytes]]:
    files: dict[str, bytes] = {}
    contents = read_envelope(io.BytesIO(plaintext), lambda name, fh, size: files.__setitem__(name, fh.read()))
    assert [name for name, _ in contents.files] == list(files)
    return contents.form, files


def test_a_bid_sealed_in_the_browser_opens_with_crypto_age(sealed_bid: Sealed) -> None:
    ciphertext, result = sealed_bid.ciphertext, sealed_bid.result
    assert ciphertext.startswith(b"age-encryption.org/v1\n")  # binary, not armored
    assert len(ciphertext) == result["sealedSize"]
    assert hashlib.sha256(ciphertext).hexdigest() == result["sha256"]
    header = parse_header(io.BytesIO(ciphertext))
    assert list(header.stanza_types) == ["X25519", "X25519"]

    for identity in (sealed_bid.identity, sealed_bid.own):  # the opening key and the bidder's own key
        out = io.BytesIO()
        decrypt(io.BytesIO(ciphertext), out, [identity])
        plaintext = out.getvalue()
        assert len(plaintext) == result["envelopeSize"]
        form, files = open_envelope(plaintext)
        assert form == FORM
        assert list(files) == [SMALL_NAME, "big.bin"]
        assert files[SMALL_NAME] == SMALL
        assert files["big.bin"] == pattern(BIG)

    # POSIX way for a non-ASCII name: a PAX "path" record (readers that do not assume UTF-8 names need it).
    with tarfile.open(fileobj=io.BytesIO(plaintext), mode="r|") as tar:
        headers = {m.name: (m.pax_headers, m.mode, m.type) for m in tar}
    assert headers["files/" + SMALL_NAME] == ({"path": "files/" + SMALL_NAME}, 0o644, tarfile.REGTYPE)
    assert headers["form.json"] == ({}, 0o644, tarfile.REGTYPE)

    total = result["envelopeSize"]
    progress = result["progress"]
    assert progress[0] == [0, total] and progress[-1] == [total, total]
    assert len(progress) >= 3 and all(a[0] < b[0] for a, b in itertools.pairwise(progress))


def test_a_bid_sealed_in_the_browser_opens_with_the_age_cli(sealed_bid: Sealed, tmp_path: Path) -> None:
    age = shutil.which("age")
    if age is None:
        unavailable("age", "the age command-line tool is not installed")
        return
    key = tmp_path / "key.txt"
    key.write_text(sealed_bid.identity.secret_string() + "\n")
    sealed = tmp_path / "bid.age"
    sealed.write_bytes(sealed_bid.ciphertext)
    done = subprocess.run([age, "-d", "-i", str(key), str(sealed)], capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    form, files = open_envelope(done.stdout)
    assert form == FORM and files[SMALL_NAME] == SMALL and files["big.bin"] == pattern(BIG)


SEAL_SIZES = """async ([sizes, recipient]) => {
  const S = window.PlatformSeal;
  const out = {};
  for (const n of sizes) {
    const sealed = await S.sealEnvelope(new Blob([harness.pattern(n)]), [recipient], null, { storage: "memory" });
    await harness.post("raw-" + n, sealed);
    out[n] = sealed.size;
  }
  // An envelope whose tar is exactly five 64 KiB chunks: one 326144-byte file, 512-byte header, 1024 end blocks.
  const envelope = S.buildEnvelope({ files: [{ name: "exact.bin", data: harness.pattern(326144) }] });
  const sealed = await S.sealEnvelope(envelope, [recipient], null, { storage: "disk" });
  await harness.post("exact", sealed);
  out.exact = envelope.size;
  out.onDisk = sealed instanceof File && sealed.name.startsWith("sealed-");
  await S.discardSealed(sealed);
  out.leftOnDisk = await S.clearSealedFiles();
  return out;
}"""


def test_plaintexts_on_64_kib_chunk_boundaries(page: Any, server: Server) -> None:
    identity = X25519Identity.generate()
    sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK]
    result = page.evaluate(SEAL_SIZES, [sizes, str(identity.recipient)])
    for n in sizes:
        ciphertext = server.state.sealed[f"raw-{n}"]
        assert decrypt_bytes(ciphertext, [identity]) == pattern(n), n
        chunks = max(1, -(-n // CHUNK))  # a full last chunk is not followed by an empty one
        header_size = len(ciphertext) - n - 16 * chunks
        assert header_size == result[str(n)] - n - 16 * chunks
        assert 150 < header_size < 300, (n, header_size)
    assert result["exact"] == 5 * CHUNK
    assert result["onDisk"] is True and result["leftOnDisk"] == 0
    plaintext = decrypt_bytes(server.state.sealed["exact"], [identity])
    assert len(plaintext) == 5 * CHUNK
    form, files = open_envelope(plaintext)
    assert form is None and files == {"exact.bin": pattern(326144)}


def test_envelope_rejects_unsafe_or_duplicate_names_and_bad_recipients(page: Any) -> None:
    errors = page.evaluate(
        """async () => {
      const S = window.PlatformSeal;
      const attempt = async (fn) => {
        try { await fn(); return null; } catch (e) { return e.name + ": " + e.message; }
      };
      const file = (name) => ({ name, data: "x" });
      return [
        await attempt(() => S.buildEnvelope({ files: [file("../etc/passwd")] })),
        await attempt(() => S.buildEnvelope({ files: [file("/abs")] })),
        await attempt(() => S.buildEnvelope({ files: [file("a\\\\b")] })),
        await attempt(() => S.buildEnvelope({ files: [file("same.pdf"), file("same.pdf")] })),
        // NFD and NFC spellings of one name are the same member
        await attempt(() => S.buildEnvelope({ files: [file("e\\u0301.pdf"), file("\\u00e9.pdf")] })),
        await attempt(() => S.buildEnvelope({ form: [1, 2] })),
        await attempt(() => S.sealEnvelope(new Blob(["x"]), [])),
        await attempt(() => S.sealEnvelope(new Blob(["x"]), ["AGE-SECRET-KEY-1QQQ"])),
        await attempt(() => S.uploadSealed(new Blob(["plain text bid"]), { createUrl: "/files/" })),
      ];
    }"""
    )
    assert all(e is not None for e in errors), errors
    assert [e.split(":")[0] for e in errors] == ["EnvelopeError"] * 6 + ["SealError"] * 3
    assert "appears twice" in errors[4]


UPLOAD = """async ([recipient, size]) => {
  const S = window.PlatformSeal;
  const sealed = await S.sealEnvelope(new Blob([harness.pattern(size)]), [recipient]);
  await harness.post("to-upload", sealed);
  const progress = [];
  const created = [];
  const done = await S.uploadSealed(sealed, {
    createUrl: "/files/",
    chunkSize: 1024 * 1024,
    headers: { "X-CSRFToken": "t" },
    metadata: { filename: "投标文件.age", tender: "ZB-2024-001" },
    retryDelays: [50, 50, 50, 50],
    onCreated: (url) => created.push(url),
    onProgress: (d, t) => progress.push([d, t]),
  });
  const offset = done.header("Upload-Offset");
  return { url: done.url, size: done.size, status: done.status, offset, created, last: progress.at(-1) };
}"""


def test_upload_resumes_from_the_servers_offset_after_failures(page: Any, server: Server) -> None:
    identity = X25519Identity.generate()
    server.state.faults = [None, "drop", "503"]  # second PATCH loses its connection half-way, then a 503
    result = page.evaluate(UPLOAD, [str(identity.recipient), 3 * 1024 * 1024 + 999])
    sealed = server.state.sealed["to-upload"]
    assert result["url"] == server.url + "/files/u1" and result["created"] == [result["url"]]
    assert result["size"] == len(sealed) and result["status"] == 204 and result["offset"] == str(len(sealed))
    assert result["last"] == [len(sealed), len(sealed)]
    upload = server.state.uploads["u1"]
    assert len(server.state.uploads) == 1
    assert bytes(upload.data) == sealed
    assert decrypt_bytes(bytes(upload.data), [identity]) == pattern(3 * 1024 * 1024 + 999)
    meta = dict(item.split(" ") for item in upload.metadata.split(","))
    assert base64.b64decode(meta["filename"]).decode() == "投标文件.age"

    log = server.state.log
    mib = 1024 * 1024
    # After the dropped PATCH the client asks where the server stands and resumes there, not at 1 MiB.
    assert log[:4] == [("POST", None), ("PATCH", 0), ("PATCH", mib), ("HEAD", mib + mib // 2)], log
    assert ("PATCH", mib + mib // 2) in log
    assert log[-1][0] == "PATCH" and all(m != "POST" for m, _ in log[1:])


PLATFORM_UPLOAD = """async ([recipient, size]) => {
  const S = window.PlatformSeal;
  const sealed = await S.sealEnvelope(new Blob([harness.pattern(size)]), [recipient]);
  await harness.post("to-upload", sealed);
  const done = await S.uploadSealed(sealed, {
    protocol: "platform",
    createUrl: "/api/v1/tenders/7/uploads",
    envelope: "bid",
    chunkSize: 1024 * 1024,
    retryDelays: [50, 50, 50, 50],
  });
  return { url: done.url, status: done.status, body: JSON.parse(done.body), sha256: await S.sha256Hex(sealed) };
}"""


def test_upload_with_the_tendering_api_protocol_resumes_and_completes(page: Any, server: Server) -> None:
    identity = X25519Identity.generate()
    server.state.faults = [None, "drop", "503"]
    result = page.evaluate(PLATFORM_UPLOAD, [str(identity.recipient), 2 * 1024 * 1024 + 4321])
    sealed = server.state.sealed["to-upload"]
    upload = server.state.uploads["p1"]
    assert upload.metadata == "bid" and upload.length == len(sealed) and bytes(upload.data) == sealed
    assert result["url"] == server.url + "/api/v1/uploads/p1" and result["status"] == 200
    assert result["body"]["sha256"] == result["sha256"] == hashlib.sha256(sealed).hexdigest()
    mib = 1024 * 1024
    log = server.state.log
    assert log[:4] == [("POST", None), ("PUT", 0), ("PUT", mib), ("GET", mib + mib // 2)], log
    assert log[-1] == ("complete", len(sealed)) and [m for m, _ in log].count("complete") == 1


def test_replay_bundle_exposes_hls(page: Any, server: Server) -> None:
    page.goto(server.url + "/replay.html")
    info = page.evaluate("() => ({ type: typeof window.Hls, version: window.Hls.version })")
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["hls.js"]
    assert info == {"type": "function", "version": pinned}


def test_seal_bundle_is_an_es_module_too(page: Any) -> None:
    names = page.evaluate("async () => Object.keys(await import('/dist/seal.js')).sort()")
    for name in ("buildEnvelope", "sealEnvelope", "uploadSealed", "sha256Hex", "default"):
        assert name in names
