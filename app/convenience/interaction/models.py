"""政民互动 tables: one request model for complaints, suggestions, consultations and help requests from every
channel (web form, hotline, e-mail, forum), the categories they are classified by (with the reply template of
each), the routing rules that send them to a department, and the 督办 notes and 回访 records of the closed loop.

Open311 GeoReport v2 maps onto these tables later without a change: `service_code` = the category's code,
`service_request_id` = the request's public `reference`, the optional `address`, `lat` and `long`, and
`status` open/closed with `status_notes` (see `InteractionRequest.open311_status`).

A request's department is a permit department of the center (permit_departments); NULL means it is held by the
center's dispatch office (调度室), the routing rules' fallback. A forum post or an e-mail is stored once: the
pair (channel, external_id) is unique (NULL for the web form and the hotline, where it does not apply).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db
from app.core.db import value_enum as _enum
from app.core.time import now_utc


class Kind(enum.StrEnum):
    COMPLAINT = "complaint"  # 投诉
    SUGGESTION = "suggestion"  # 建议
    CONSULTATION = "consultation"  # 咨询
    HELP = "help"  # 求助


class Channel(enum.StrEnum):
    WEB = "web"  # the citizen's form
    HOTLINE = "hotline"  # typed in by a hotline operator
    EMAIL = "email"  # the mail gateway, through the API
    FORUM = "forum"  # imported forum posts
    OPEN311 = "open311"  # posted by an app through Open311 GeoReport v2


class Status(enum.StrEnum):
    RECEIVED = "received"  # 受理: at the dispatch office
    DISPATCHED = "dispatched"  # 调度: assigned to a department
    HANDLING = "handling"  # 办理: the department took it up
    REPLIED = "replied"  # 回复: the department answered
    CLOSED = "closed"  # 办结
    CALLED_BACK = "called_back"  # 回访: the citizen was reached; 评价 follows through 好差评


OPEN_STATUSES = (Status.RECEIVED, Status.DISPATCHED, Status.HANDLING)  # due and possibly overdue
DONE_STATUSES = (Status.CLOSED, Status.CALLED_BACK)


class InteractionCategory(db.Model):  # type: ignore[name-defined,misc]
    """A category of requests (also Open311's service): its code, names and the reply template."""

    __tablename__ = "interaction_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # Placeholders: {reference} {name} {category} {department} {due} (see services.fill_template).
    reply_template: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class InteractionRoutingRule(db.Model):  # type: ignore[name-defined,misc]
    """kind / category / keyword → department; the first active rule that matches (lowest priority) wins.

    An empty condition matches anything; `department_id` NULL routes to the dispatch office.
    """

    __tablename__ = "interaction_routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    priority: Mapped[int] = mapped_column(Integer, default=100, index=True)
    kind: Mapped[Kind | None] = mapped_column(_enum(Kind))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("interaction_categories.id"))
    keyword: Mapped[str] = mapped_column(String(50), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("permit_departments.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(String(200), default="")

    category = relationship("InteractionCategory")
    department = relationship("app.permits.catalogue.models.Department")


class InteractionRequest(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "interaction_requests"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_interaction_requests_external"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)  # public: HD20261207-7F3K2Q
    tracking_token: Mapped[str] = mapped_column(
        String(32), index=True
    )  # with the reference, follows it without an account
    kind: Mapped[Kind] = mapped_column(_enum(Kind), index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    category_id: Mapped[int] = mapped_column(ForeignKey("interaction_categories.id"), index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    external_id: Mapped[str | None] = mapped_column(String(200))  # forum post id, e-mail Message-ID
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # a signed-in citizen
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)

    status: Mapped[Status] = mapped_column(_enum(Status), index=True, default=Status.RECEIVED)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the operator, the gateway
    due_on: Mapped[date | None] = mapped_column(Date)  # None: the working-day calendar does not reach it
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # the end of due_on, center time
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the sweep found it overdue

    department_id: Mapped[int | None] = mapped_column(ForeignKey("permit_departments.id"), index=True)
    routing_rule_id: Mapped[int | None] = mapped_column(ForeignKey("interaction_routing_rules.id"))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handling_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    category: Mapped[InteractionCategory] = relationship()
    department = relationship("app.permits.catalogue.models.Department")
    handler = relationship("User", foreign_keys=[handler_id])
    replied_by = relationship("User", foreign_keys=[replied_by_id])
    presses: Mapped[list[InteractionPress]] = relationship(back_populates="request", order_by="InteractionPress.id")
    callbacks: Mapped[list[InteractionCallBack]] = relationship(
        back_populates="request", order_by="InteractionCallBack.id"
    )

    @property
    def audit_ref(self) -> str:
        return f"convenience.interaction:{self.reference}"

    @property
    def is_overdue(self) -> bool:
        return self.overdue_at is not None

    @property
    def open311_status(self) -> str:
        """GeoReport v2's two states: open until 办结, closed after."""
        return "closed" if self.status in DONE_STATUSES else "open"


class InteractionPress(db.Model):  # type: ignore[name-defined,misc]
    """督办: a dispatcher or supervisor presses for handling, with a note; may send a reply back to the department."""

    __tablename__ = "interaction_presses"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("interaction_requests.id"), index=True)
    pressed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    pressed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    note: Mapped[str] = mapped_column(Text)
    reopened: Mapped[bool] = mapped_column(Boolean, default=False)  # the reply went back for more handling

    request: Mapped[InteractionRequest] = relationship(back_populates="presses")
    pressed_by = relationship("User")


class InteractionCallBack(db.Model):  # type: ignore[name-defined,misc]
    """回访: the operator's call to the citizen after 办结: reached or not, satisfied or not, what was said."""

    __tablename__ = "interaction_callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("interaction_requests.id"), index=True)
    called_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    called_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    reached: Mapped[bool] = mapped_column(Boolean)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)  # None: not reached, or would not say
    note: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[InteractionRequest] = relationship(back_populates="callbacks")
    called_by = relationship("User")
