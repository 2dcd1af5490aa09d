"""Permits permissions and the seeded roles that hold them by default."""

from __future__ import annotations

from app.accounts.permissions import declare, grant_by_default

CATALOGUE_MANAGE = declare(
    "permits.catalogue.manage",
    "Maintain the permit item catalogue (departments, items, forms, materials)",
    "维护行政许可事项目录（部门、事项、申请表、材料清单）",
)

CALENDAR_MANAGE = declare(
    "permits.calendar.manage",
    "Load and check the working-day calendar (holidays, make-up working days)",
    "维护工作日历（法定节假日、调休上班日）",
)

grant_by_default("admin", CATALOGUE_MANAGE)
grant_by_default("admin", CALENDAR_MANAGE)
