"""Permits permissions and the seeded roles that hold them by default."""

from __future__ import annotations

from app.accounts.permissions import declare, grant_by_default

CATALOGUE_MANAGE = declare(
    "permits.catalogue.manage",
    "Maintain the permit item catalogue (departments, items, forms, materials)",
    "维护行政许可事项目录（部门、事项、申请表、材料清单）",
)

grant_by_default("admin", CATALOGUE_MANAGE)
