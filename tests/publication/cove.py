"""libcoveocds (the OCDS data-review checks) run offline: the standard's schemas from the repository, the bids
extension served from its copy in the repository; any other URL is refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import jsonref
import requests
from requests.adapters import BaseAdapter

from app.publication.ocds.build import BID_EXTENSION_URL
from app.publication.ocds.schemas_ocds import SCHEMA_DIR

DATA = Path(__file__).resolve().parent / "data"
EXTENSION_BASE = BID_EXTENSION_URL.removesuffix("extension.json")


EXTENSION_ARCHIVE = "https://github.com/open-contracting-extensions/ocds_bid_extension/archive/v1.1.5.zip"


def extension_archive() -> bytes:
    buf = io.BytesIO()
    root = SCHEMA_DIR / "bid_extension"
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ocds_bid_extension-1.1.5/", "")
        for f in sorted(root.rglob("*")):
            if f.is_file():
                zf.write(f, f"ocds_bid_extension-1.1.5/{f.relative_to(root)}")
    return buf.getvalue()


class LocalExtension(BaseAdapter):
    """Answers the bids extension's URLs from schema/bid_extension/; anything else is a connection error."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = str(request.url)
        response = requests.Response()
        response.url = url
        response.request = request
        response.status_code = 200
        if url == EXTENSION_ARCHIVE:  # ocdsextensionregistry reads a GitHub extension from its archive
            response._content = extension_archive()
            return response
        if not url.startswith(EXTENSION_BASE):
            raise requests.ConnectionError(f"offline: {url}")
        path = SCHEMA_DIR / "bid_extension" / url.removeprefix(EXTENSION_BASE)
        if path.is_file():
            response._content = path.read_bytes()
        else:
            response.status_code = 404
            response._content = b""
        return response

    def close(self) -> None:
        pass


STANDARD_BASE = "https://standard.open-contracting.org/schema/1__1__5/"


class LocalStandard:
    """Stands in for `requests` in jsonref: the standard's 1.1.5 schema URLs from the copy in data/."""

    def get(self, url: str) -> requests.Response:
        if not url.startswith(STANDARD_BASE):
            raise requests.ConnectionError(f"offline: {url}")
        response = requests.Response()
        response.url = url
        response.status_code = 200
        response._content = (DATA / "standard-1__1__5" / "schema" / url.removeprefix(STANDARD_BASE)).read_bytes()
        return response


def standard_zip(tmp: Path) -> Path:
    """A ZIP laid out like the standard repository's archive (one top folder, then schema/), as ProfileBuilder
    reads it: OCDS 1.1.5, the version libcoveocds checks against."""
    path = tmp / "standard.zip"
    root = DATA / "standard-1__1__5"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("standard-1__1__5/", "")
        for f in sorted(root.rglob("*")):
            if f.is_file():
                zf.write(f, f"standard-1__1__5/{f.relative_to(root)}")
    return path


def review(package: dict[str, Any], tmp: Path, monkeypatch: Any) -> dict[str, Any]:
    """The libcoveocds API context for `package` (a release or record package)."""
    from libcoveocds.api import ocds_json_output
    from libcoveocds.config import LibCoveOCDSConfig
    from ocdsextensionregistry import extension_version, util

    offline = requests.Session()
    offline.mount("https://", LocalExtension())
    offline.mount("http://", LocalExtension())
    monkeypatch.setattr(util, "session", offline)
    monkeypatch.setattr(extension_version, "session", offline)
    monkeypatch.setattr(jsonref, "requests", LocalStandard())  # record packages: jsonref resolves the schema URLs
    config = LibCoveOCDSConfig()
    config.config["context"] = "api"
    config.config["standard_zip"] = f"file://{standard_zip(tmp)}"
    out = tmp / "cove"
    out.mkdir(exist_ok=True)
    return dict(ocds_json_output(str(out), json_data=package, schema_version="1.1", lib_cove_ocds_config=config))
