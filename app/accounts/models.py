"""Organisations, users, roles (permissions as data), API tokens, server-side sessions, sign-in attempts."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db
from app.core.db import value_enum as _enum
from app.core.security import effective_permission
from app.core.time import now_utc


class OrganisationKind(enum.StrEnum):
    BIDDER = "bidder"  # a company bidding for contracts
    AGENCY = "agency"  # tendering agency
    BUYER = "buyer"  # purchaser / tenderee
    DEPARTMENT = "department"  # an approval department stationed in the center
    SERVICE_UNIT = "service_unit"
    CENTER = "center"  # the center's own offices (management, supervision)
    OTHER = "other"


# Kinds that trade on the tendering floor must be identified by a unified social credit code.
USCC_REQUIRED_KINDS = frozenset({OrganisationKind.BIDDER, OrganisationKind.AGENCY})


class Organisation(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[OrganisationKind] = mapped_column(_enum(OrganisationKind))
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    # A deactivated organisation keeps its history but takes no new users, tenders or expert links.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    @property
    def audit_ref(self) -> str:
        return f"organisation:{self.id}"


user_roles = Table(
    "user_roles",
    db.metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", Integer, ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class Role(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    label_en: Mapped[str] = mapped_column(String(100))
    label_zh: Mapped[str] = mapped_column(String(100))
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Default grants already applied by the seed: a default is added once, so an admin's removal sticks.
    seeded_permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    requires_totp: Mapped[bool] = mapped_column(Boolean, default=False)

    users: Mapped[list[User]] = relationship(secondary=user_roles, back_populates="roles")

    def label(self, locale: str | None) -> str:
        return self.label_zh if (locale or "").startswith("zh") else self.label_en

    @property
    def audit_ref(self) -> str:
        return f"role:{self.id}"


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # AES-GCM ciphertext of the base32 secret (see services_totp.encrypt_secret); never rendered or serialised.
    totp_secret_enc: Mapped[str | None] = mapped_column(String(255))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Last accepted 30-second step: a code is good once (RFC 6238 §5.2).
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, back_populates="users", order_by="Role.name")
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", order_by="ApiToken.id")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username}>"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return bool(self.active)

    @property
    def audit_ref(self) -> str:
        return f"user:{self.id}"

    @property
    def permissions(self) -> set[str]:
        perms: set[str] = set()
        for role in self.roles:
            perms.update(role.permissions or [])
        return perms

    def has_permission(self, permission: str) -> bool:
        """Granted by the user's roles and, when a bearer token authenticated this user in the current request,
        covered by the token's scopes (the one rule: core.security.effective_permission)."""
        return effective_permission(self, permission, self.permissions)

    def has_role(self, name: str) -> bool:
        return any(r.name == name for r in self.roles)

    @property
    def totp_required(self) -> bool:
        return any(r.requires_totp for r in self.roles)

    @property
    def needs_totp_setup(self) -> bool:
        return self.totp_required and not self.totp_enabled


class ApiToken(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown to the user to recognise a token
    token_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the whole token; the secret is never stored
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def audit_ref(self) -> str:
        return f"api_token:{self.id}"


class UserSession(db.Model):  # type: ignore[name-defined,misc]
    """A signed-in browser session; the cookie carries a random id whose hash is stored here."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship()


class LoginOutcome(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"  # wrong password, unknown user, wrong TOTP code, inactive account
    LOCKED = "locked"  # refused without checking: the account name is locked out
    THROTTLED = "throttled"  # refused without checking: too many failures from this address
    UNLOCK = "unlock"  # an administrator lifted a lockout


class LoginAttempt(db.Model):  # type: ignore[name-defined,misc]
    """One sign-in attempt (or unlock); lockouts and throttling are derived from these rows."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    username: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ip: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[LoginOutcome] = mapped_column(_enum(LoginOutcome))
