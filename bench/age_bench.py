"""Throughput of our age implementation vs the Go `age` CLI vs `openssl enc -chacha20` (not part of the tests).

    .venv/bin/python bench/age_bench.py [SIZE] [--repeat N] [--dir DIR]

SIZE accepts bytes or a K/M/G suffix (default 1G). Each tool seals and opens the same generated file (file to
file, page cache warm); the best of N runs is reported in MiB/s, with the ratio ours/age.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crypto.age import X25519Identity, decrypt, encrypt

OURS = "ours (crypto.age stream API)"
AGE = "age CLI (Go)"


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def generate(path: Path, size: int) -> None:
    block = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(1 << 15))  # 1 MiB
    with path.open("wb") as f:
        left = size
        while left:
            f.write(block[: min(left, len(block))])
            left -= min(left, len(block))


def timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("size", nargs="?", default="1G")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", help="work directory (default: a temporary directory)")
    args = parser.parse_args()
    size = parse_size(args.size)
    mib = size / (1 << 20)
    age = shutil.which("age")
    openssl = shutil.which("openssl")

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        src = work / "plain.bin"
        generate(src, size)
        want = sha256_file(src)
        identity = X25519Identity.generate()
        key_file = work / "key.txt"
        key_file.write_text(f"{identity}\n")
        recipient = str(identity.recipient)
        sealed, opened = work / "sealed", work / "opened"
        tools: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {}

        def ours_seal() -> None:
            with src.open("rb") as fin, sealed.open("wb") as fout:
                encrypt(fin, fout, [identity.recipient])

        def ours_open() -> None:
            with sealed.open("rb") as fin, opened.open("wb") as fout:
                decrypt(fin, fout, [identity])

        tools[OURS] = (ours_seal, ours_open)
        if age:
            age_bin = age

            def age_seal() -> None:
                subprocess.run([age_bin, "-r", recipient, "-o", str(sealed), str(src)], check=True)

            def age_open() -> None:
                subprocess.run([age_bin, "-d", "-i", str(key_file), "-o", str(opened), str(sealed)], check=True)

            tools[AGE] = (age_seal, age_open)
        if openssl:
            key, iv = os.urandom(32).hex(), os.urandom(16).hex()
            ssl_bin = openssl

            def ssl(*extra: str, fin: Path, fout: Path) -> None:
                cmd = [ssl_bin, "enc", "-chacha20", "-K", key, "-iv", iv, *extra, "-in", str(fin), "-out", str(fout)]
                subprocess.run(cmd, check=True)

            tools["openssl enc -chacha20 (no MAC)"] = (
                lambda: ssl(fin=src, fout=sealed),
                lambda: ssl("-d", fin=sealed, fout=opened),
            )

        # Interleave the tools on every round (the machine may be shared); keep the best time of each.
        results = {name: [float("inf"), float("inf")] for name in tools}
        for _ in range(args.repeat):
            for name, (seal, open_) in tools.items():
                results[name][0] = min(results[name][0], timed(seal))
                results[name][1] = min(results[name][1], timed(open_))
                assert sha256_file(opened) == want, f"{name}: round trip mismatch"
                opened.unlink()

    print(f"file size {mib:.0f} MiB, best of {args.repeat}")
    print(f"{'implementation':34} {'seal MiB/s':>11} {'open MiB/s':>11}")
    for name, (seal_s, open_s) in results.items():
        print(f"{name:34} {mib / seal_s:11.0f} {mib / open_s:11.0f}")
    if AGE in results:
        ours, theirs = results[OURS], results[AGE]
        print(f"ratio ours/age: seal {theirs[0] / ours[0]:.2f}x, open {theirs[1] / ours[1]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
