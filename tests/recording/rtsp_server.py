"""A small RTSP server for tests: ffmpeg encodes a test pattern and a tone to RTP, this relays it to clients.

ffmpeg can push RTSP but not serve it, so ffmpeg writes RTP (H.264 + AAC, like an IP camera) to local UDP
ports and an SDP file; this server answers OPTIONS/DESCRIBE/SETUP/PLAY/TEARDOWN and forwards every RTP and
RTCP packet to the playing clients interleaved on their RTSP connection (RTP over TCP). A client that asks
for UDP gets 461 and falls back to TCP, as FFmpeg's RTSP client (OpenCV, PyAV) does by itself.

`stop()` kills ffmpeg and drops every connection, like a camera losing power; `start()` brings it back on
the same port. Run by hand: `python -m tests.recording.rtsp_server --port 8554`.
"""

from __future__ import annotations

import contextlib
import random
import re
import selectors
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

# Lip-sync marks, coded so that a shift by whole seconds shows too: at each whole second t, a white 20×20 box
# in the lower right for n = 1 + (t mod 4) frames, and a 4 kHz beep over the 1 kHz tone for n × 40 ms.
CODE = "(1+mod(floor(t),4))"
FLASH = (
    "drawbox=x=iw-20:y=ih-20:w=20:h=20:color=black:t=fill,"
    f"drawbox=x=iw-20:y=ih-20:w=20:h=20:color=white:t=fill:enable='lt(mod(t,1),0.04*{CODE})'"
)
BEEP = f"aevalsrc=exprs='0.1*sin(2*PI*1000*t)+0.4*sin(2*PI*4000*t)*lt(mod(t,1),0.04*{CODE})':s=48000"


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _udp_pair() -> tuple[socket.socket, socket.socket]:
    """Two UDP sockets on ports P (even, RTP) and P+1 (RTCP): ffmpeg's RTP muxer sends RTCP to port+1."""
    for _ in range(200):
        port = random.randrange(20_000, 60_000, 2)
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            rtp.bind(("127.0.0.1", port))
            rtcp.bind(("127.0.0.1", port + 1))
        except OSError:
            rtp.close()
            rtcp.close()
            continue
        return rtp, rtcp
    raise OSError("no free pair of UDP ports")


@dataclass
class _Client:
    sock: socket.socket
    lock: threading.Lock = field(default_factory=threading.Lock)
    channels: dict[int, int] = field(default_factory=dict)  # track → first interleaved channel
    playing: bool = False

    def send(self, data: bytes) -> bool:
        try:
            with self.lock:
                self.sock.sendall(data)
            return True
        except OSError:
            return False


class RtspTestServer:
    """Serves `rtsp://127.0.0.1:PORT/room`: test pattern (H.264, a keyframe each second) and tone (AAC) with
    lip-sync marks."""

    def __init__(
        self,
        port: int | None = None,
        *,
        size: str = "640x360",
        fps: int = 25,
    ) -> None:
        if shutil.which("ffmpeg") is None:
            raise FileNotFoundError("ffmpeg is not installed")
        self.port = port or free_tcp_port()
        self.size, self.fps = size, fps
        self.url = f"rtsp://127.0.0.1:{self.port}/room"
        self._proc: subprocess.Popen[bytes] | None = None
        self._listener: socket.socket | None = None
        self._udp: list[tuple[socket.socket, int]] = []  # (socket, interleaved channel offset 0=RTP 1=RTCP)
        self._clients: list[_Client] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._running = threading.Event()
        self._sdp = ""
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.sessions = 0  # PLAY requests served, across restarts

    # ----- life cycle -----
    def start(self, timeout: float = 10.0) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="rtsp-test-")
        sdp_path = Path(self._tmp.name) / "stream.sdp"
        pairs = [_udp_pair() for _ in range(2)]  # video, audio
        self._udp = []
        for track, (rtp, rtcp) in enumerate(pairs):
            self._udp += [(rtp, 2 * track), (rtcp, 2 * track + 1)]
        cmd = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
            "-f", "lavfi", "-i", f"testsrc=size={self.size}:rate={self.fps},{FLASH}",
            "-f", "lavfi", "-i", BEEP,
            "-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-pix_fmt", "yuv420p", "-g", str(self.fps), "-flags:v", "+global_header",
            "-f", "rtp", f"rtp://127.0.0.1:{pairs[0][0].getsockname()[1]}",
            "-map", "1:a", "-c:a", "aac", "-ac", "1", "-flags:a", "+global_header", "-max_delay", "0",
            "-f", "rtp", f"rtp://127.0.0.1:{pairs[1][0].getsockname()[1]}",
            "-sdp_file", str(sdp_path),
        ]  # fmt: skip
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not (sdp_path.exists() and "m=" in sdp_path.read_text()):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"ffmpeg did not start streaming (exit {self._proc and self._proc.returncode})")
            time.sleep(0.05)
        time.sleep(0.1)  # the SDP is written whole at once, but give the file a moment
        self._sdp = self._rewrite_sdp(sdp_path.read_text())
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(8)
        self._listener = listener
        self._running.set()
        self._threads = [
            threading.Thread(target=self._accept_loop, name="rtsp-accept", daemon=True),
            threading.Thread(target=self._relay_loop, name="rtsp-relay", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Kill ffmpeg and drop every client at once (RST), as a camera that loses power."""
        self._running.clear()
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=10)
            self._proc = None
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            with contextlib.suppress(OSError):
                client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                client.sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        for sock, _ in self._udp:
            sock.close()
        self._udp = []
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> RtspTestServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ----- RTSP -----
    @staticmethod
    def _rewrite_sdp(sdp: str) -> str:
        """ffmpeg's SDP describes its UDP destinations; a server's says 'any address' and names each track."""
        out = ["v=0", "o=- 0 0 IN IP4 127.0.0.1", "s=test room", "c=IN IP4 0.0.0.0", "t=0 0", "a=control:*"]
        track = -1
        for line in sdp.splitlines():
            if line.startswith("m="):
                track += 1
                kind, _port, rest = line[2:].split(" ", 2)
                out += [f"m={kind} 0 {rest}", f"a=control:streamid={track}"]
            elif track >= 0 and not line.startswith("c="):
                out.append(line)
        return "\r\n".join(out) + "\r\n"

    def _accept_loop(self) -> None:
        assert self._listener is not None
        listener = self._listener
        while self._running.is_set():
            try:
                sock, _addr = listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(5)
            client = _Client(sock)
            with self._lock:
                if not self._running.is_set():
                    sock.close()
                    return
                self._clients.append(client)
            threading.Thread(target=self._serve, args=(client,), name="rtsp-client", daemon=True).start()

    def _serve(self, client: _Client) -> None:
        buf = b""
        try:
            while self._running.is_set():
                if buf.startswith(b"$"):  # the client's RTCP receiver reports: read and drop
                    if len(buf) < 4 or len(buf) < 4 + int.from_bytes(buf[2:4], "big"):
                        buf += self._recv(client)
                        continue
                    buf = buf[4 + int.from_bytes(buf[2:4], "big") :]
                    continue
                head_end = buf.find(b"\r\n\r\n")
                if head_end < 0:
                    buf += self._recv(client)
                    continue
                head = buf[:head_end].decode("latin-1")
                length = int(m.group(1)) if (m := re.search(r"(?im)^content-length:\s*(\d+)", head)) else 0
                if len(buf) < head_end + 4 + length:
                    buf += self._recv(client)
                    continue
                buf = buf[head_end + 4 + length :]
                if not self._answer(client, head):
                    break
        except (OSError, ConnectionError):
            pass
        finally:
            with self._lock:
                if client in self._clients:
                    self._clients.remove(client)
            with contextlib.suppress(OSError):
                client.sock.close()

    @staticmethod
    def _recv(client: _Client) -> bytes:
        try:
            data = client.sock.recv(65536)
        except TimeoutError:
            return b""
        if not data:
            raise ConnectionError("client closed")
        return data

    def _answer(self, client: _Client, head: str) -> bool:
        lines = head.split("\r\n")
        method, url, _version = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        cseq = headers.get("cseq", "0")
        extra: list[str] = []
        body = ""
        status = "200 OK"
        keep = True
        if method == "OPTIONS":
            extra.append("Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER")
        elif method == "DESCRIBE":
            body = self._sdp
            extra += [f"Content-Base: {self.url}/", "Content-Type: application/sdp"]
        elif method == "SETUP":
            transport = headers.get("transport", "")
            found = re.search(r"streamid=(\d+)", url)
            track = int(found.group(1)) if found else 0
            if "TCP" not in transport.upper():
                status = "461 Unsupported Transport"
            else:
                wanted = re.search(r"interleaved=(\d+)", transport)
                first = int(wanted.group(1)) if wanted else 2 * track
                client.channels[track] = first
                extra += [f"Transport: RTP/AVP/TCP;unicast;interleaved={first}-{first + 1}", "Session: 1;timeout=60"]
        elif method == "PLAY":
            extra += ["Session: 1", "Range: npt=0.000-"]
            client.playing = True
            self.sessions += 1
        elif method == "TEARDOWN":
            keep = False
        elif method not in {"GET_PARAMETER", "SET_PARAMETER"}:
            status = "501 Not Implemented"
        reply = [f"RTSP/1.0 {status}", f"CSeq: {cseq}", *extra]
        if body:
            reply.append(f"Content-Length: {len(body.encode())}")
        data = ("\r\n".join(reply) + "\r\n\r\n" + body).encode()
        return client.send(data) and keep

    def _relay_loop(self) -> None:
        selector = selectors.DefaultSelector()
        for sock, channel in self._udp:
            selector.register(sock, selectors.EVENT_READ, channel)
        try:
            while self._running.is_set():
                for key, _ in selector.select(timeout=0.2):
                    udp = key.fileobj
                    assert isinstance(udp, socket.socket)
                    try:
                        packet = udp.recv(65536)
                    except OSError:
                        return
                    offset = key.data  # 2*track + (1 for RTCP)
                    with self._lock:
                        clients = [c for c in self._clients if c.playing and offset // 2 in c.channels]
                    for client in clients:
                        channel = client.channels[offset // 2] + offset % 2
                        frame = b"$" + bytes([channel]) + len(packet).to_bytes(2, "big") + packet
                        if not client.send(frame):
                            with self._lock:
                                if client in self._clients:
                                    self._clients.remove(client)
        finally:
            selector.close()


if __name__ == "__main__":  # pragma: no cover - manual use
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--size", default="640x360")
    args = parser.parse_args()
    server = RtspTestServer(args.port, size=args.size)
    server.start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
