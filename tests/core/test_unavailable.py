"""A service the platform needs is down (the database, the object store): the answer is 503 with Retry-After,
which clients (the pages' scripts, the API clients, nginx in front) take as "try again", never a 500."""

from __future__ import annotations

from pathlib import Path

from app import create_app
from app.config import test_config
from app.core.security import public
from app.core.storage import StorageUnavailable

UNREACHABLE_DB = "postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2"


def test_storage_unavailable_answers_503_with_retry_after(tmp_path: Path) -> None:
    app = create_app(test_config(tmp_path))

    @app.get("/api/v1/_probe-storage")
    @public
    def probe() -> None:
        raise StorageUnavailable()

    resp = app.test_client().get("/api/v1/_probe-storage")
    assert resp.status_code == 503 and resp.mimetype == "application/problem+json"
    assert resp.headers["Retry-After"].isdigit()
    assert resp.json["type"].endswith("/storage-unavailable")


def test_database_down_answers_503_with_retry_after_on_the_api_and_on_pages(tmp_path: Path) -> None:
    app = create_app(test_config(tmp_path, SQLALCHEMY_DATABASE_URI=UNREACHABLE_DB))
    client = app.test_client()
    api = client.get("/api/v1/tenders")
    assert api.status_code == 503, api.get_data(as_text=True)[:500]
    assert api.mimetype == "application/problem+json"
    assert api.json["type"].endswith("/service-unavailable")
    assert int(api.headers["Retry-After"]) > 0
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert int(page.headers["Retry-After"]) > 0
