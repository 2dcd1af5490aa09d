"""The portal's own rows (each buyer's region) and the indexes its public search reads the tenders table by."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import UTCDateTime, db
from app.core.time import now_utc
from app.tendering.models import Tender


class BuyerRegion(db.Model):  # type: ignore[name-defined,misc]
    """The region (行政区划, e.g. 邯郸市丛台区) a buyer belongs to: tenders carry none of their own, and the portal's
    region filter is a buyer's. Kept here, read-only use of the organisations table."""

    __tablename__ = "portal_buyer_regions"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    region: Mapped[str] = mapped_column(String(100), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


# The public search's filters and sort keys on the tenders table (status and opening_at are indexed by tendering):
# publication and deadline dates (ranges and the default newest-first order), the budget range and order.
_tenders = Tender.__table__
Index("ix_portal_tenders_published_at", _tenders.c.published_at)
Index("ix_portal_tenders_deadline_at", _tenders.c.submission_deadline_at)
Index("ix_portal_tenders_budget_amount", _tenders.c.budget_amount)
