"""Configuration: safe defaults for the embedded mode, APP_* environment overrides, TestConfig."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _instance_path() -> Path:
    return Path(os.environ.get("APP_INSTANCE_PATH", ROOT / "instance")).resolve()


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_seconds(name: str, default: timedelta) -> timedelta:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 < value <= 86400:
        raise ValueError(f"{name} must be between 0 and 86400 seconds, got {raw!r}")
    return timedelta(seconds=value)


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    if not raw.strip().isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {raw!r}")
    return int(raw)


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the configuration mapping: defaults, then the environment, then explicit overrides."""
    instance = Path((overrides or {}).get("INSTANCE_PATH") or _instance_path())
    env_name = os.environ.get("APP_ENV", "embedded").strip().lower() or "embedded"
    if env_name not in {"embedded", "production"}:
        raise ValueError(f"APP_ENV must be 'production' or 'embedded', got {env_name!r}")
    production = env_name == "production"
    secure = _env_bool("APP_SECURE_COOKIES", production)
    cfg: dict[str, Any] = {
        "INSTANCE_PATH": str(instance),
        # Embedded default: SQLite in WAL mode under instance/.
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'platform.sqlite'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # Object storage: file:// (a folder) or s3://KEY:SECRET@HOST:PORT/PREFIX?secure=0
        "STORAGE_URL": f"file://{instance / 'storage'}",
        # Celery broker: embedded persistent filesystem transport unless configured.
        "BROKER_URL": "filesystem://",
        "CELERY_DATA_DIR": str(instance / "celery"),
        "SECRET_KEY": None,
        "PLATFORM_KEY_PATH": str(instance / "platform_ed25519.pem"),
        "PLATFORM_KEY_PEM": None,
        "MASTER_KEY_PATH": str(instance / "master.key"),
        "CENTER_TIMEZONE": "Asia/Shanghai",
        # The center's name in the page header, per language (the platform's name is translated).
        "CENTER_NAME": "邯郸市行政服务中心",
        "CENTER_NAME_EN": "Handan Administrative Service Center",
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": ["zh_CN", "en"],
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Cookies are Secure, and HSTS is sent, in production (APP_ENV=production, behind TLS); the embedded
        # default (`make run`, http://127.0.0.1) keeps plain-HTTP cookies. APP_SECURE_COOKIES overrides either way.
        "ENV_NAME": env_name,
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "HSTS_MAX_AGE": 31536000 if production else 0,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "WTF_CSRF_CHECK_DEFAULT": False,  # checked by core.security for cookie-authenticated writes
        "WTF_CSRF_TIME_LIMIT": None,
        "ARGON2_PARAMS": {},  # argon2-cffi defaults (RFC 9106 low-memory profile)
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_FAILURE_WINDOW": timedelta(minutes=15),
        "LOGIN_LOCKOUT": timedelta(minutes=15),
        "API_TOKEN_DEFAULT_TTL": timedelta(days=30),
        "API_TOKEN_MAX_TTL": timedelta(days=365),
        # How often a checkpoint is signed when the log grew (the batch sweep also signs one after each batch).
        "AUDIT_CHECKPOINT_INTERVAL": _env_seconds("APP_AUDIT_CHECKPOINT_INTERVAL", timedelta(minutes=1)),
        # Sealed-bid commitments: one fixed-size batch logged per interval (app.audit.batches); a receipt's
        # inclusion proof is ready after the next batch. Capacity: commitments per batch (others wait a turn).
        "AUDIT_BATCH_INTERVAL": _env_seconds("APP_AUDIT_BATCH_INTERVAL", timedelta(seconds=15)),
        "AUDIT_BATCH_CAPACITY": _env_int("APP_AUDIT_BATCH_CAPACITY", 256, 1, 65536),
        # Electronic seals (app/core/sealing): the platform's own chain under SEAL_DIR (local), or a certified
        # seal service (remote, SEAL_REMOTE_URL + SEAL_REMOTE_TOKEN); SEAL_TRUST_ROOTS: a PEM file of further
        # seal roots the verifier trusts (the service's CA).
        "SEAL_BACKEND": "local",
        "SEAL_DIR": str(instance / "seal"),
        "SEAL_ORGANISATION": None,  # the name in the local seal certificate; default CENTER_NAME
        "SEAL_TIMESTAMP": _env_bool("APP_SEAL_TIMESTAMP", True),  # local: RFC 3161 timestamp (PAdES B-T)
        "SEAL_REMOTE_URL": "",
        "SEAL_REMOTE_TOKEN": "",
        "SEAL_REMOTE_TIMEOUT": _env_seconds("APP_SEAL_REMOTE_TIMEOUT", timedelta(seconds=20)).total_seconds(),
        "SEAL_TRUST_ROOTS": "",
        "SEAL_VERIFY_MAX_BYTES": _env_int("APP_SEAL_VERIFY_MAX_BYTES", 20 * 1024 * 1024, 1024, 64 * 1024 * 1024),
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        # A request body must arrive within BODY_TIMEOUT seconds plus one second per BODY_MIN_RATE bytes (else 408).
        "BODY_TIMEOUT": 20,
        "BODY_MIN_RATE": 16 * 1024,
        "API_TITLE": "Administrative Service Center Platform",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "DEMO_DATA": False,
        "TESTING": False,
    }
    env_map = {
        "APP_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
        "APP_STORAGE_URL": "STORAGE_URL",
        "APP_BROKER_URL": "BROKER_URL",
        "APP_SECRET_KEY": "SECRET_KEY",
        "APP_PLATFORM_KEY_PEM": "PLATFORM_KEY_PEM",
        "APP_CENTER_TIMEZONE": "CENTER_TIMEZONE",
        "APP_CENTER_NAME": "CENTER_NAME",
        "APP_CENTER_NAME_EN": "CENTER_NAME_EN",
        "APP_SEAL_BACKEND": "SEAL_BACKEND",
        "APP_SEAL_DIR": "SEAL_DIR",
        "APP_SEAL_ORGANISATION": "SEAL_ORGANISATION",
        "APP_SEAL_REMOTE_URL": "SEAL_REMOTE_URL",
        "APP_SEAL_REMOTE_TOKEN": "SEAL_REMOTE_TOKEN",
        "APP_SEAL_TRUST_ROOTS": "SEAL_TRUST_ROOTS",
    }
    for env, key in env_map.items():
        if os.environ.get(env):
            cfg[key] = os.environ[env]
    # Legal periods and limits of the domain modules (e.g. APP_TENDER_MIN_DAYS_TO_DEADLINE=20): numbers only.
    for env, raw in os.environ.items():
        if env.startswith(("APP_TENDER_", "APP_EVALUATION_", "APP_BODY_")):
            try:
                cfg[env[4:]] = int(raw) if raw.strip().lstrip("-").isdigit() else float(raw)
            except ValueError:
                raise ValueError(f"{env} must be a number, got {raw!r}") from None
    if overrides:
        cfg.update(overrides)
    uri = cfg["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://") or uri.startswith("postgres://"):
        # psycopg 3 is the driver; accept the usual URL spelling.
        cfg["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and not cfg["SQLALCHEMY_ENGINE_OPTIONS"]:
        # After a restart or failover of the server every pooled connection is dead: test each before use.
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    return cfg


def test_config(instance: Path, **extra: Any) -> dict[str, Any]:
    """Configuration for tests: a private instance folder, a known secret, no CSRF surprises."""
    cfg: dict[str, Any] = {
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'test.sqlite'}",
        "STORAGE_URL": f"file://{instance / 'storage'}",
        "BROKER_URL": "memory://",
        "CELERY_DATA_DIR": str(instance / "celery"),
        "SECRET_KEY": "test-secret-key",
        "PLATFORM_KEY_PATH": str(instance / "platform_ed25519.pem"),
        "MASTER_KEY_PATH": str(instance / "master.key"),
        "TESTING": True,
        # Cheap hashing keeps the suite fast; the algorithm and code path are the production ones.
        "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
    }
    cfg.update(extra)
    return cfg


test_config.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite its name
