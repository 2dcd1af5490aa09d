"""Permissions of the 8188890 social-service platform and the seeded roles that hold them by default."""

from __future__ import annotations

from app.accounts.permissions import declare, grant_by_default

PROVIDE = declare(
    "convenience.household.provide",
    "Work a household-service provider's portal: see its orders, acknowledge, decline and complete them",
    "使用家政服务商门户：查看本企业的工单，确认接单、拒单并填写完工情况",
)

INTAKE = declare(
    "convenience.household.intake",
    "Take household-service requests on a citizen's behalf (the 8188890 hotline)",
    "代群众登记家政服务需求（8188890热线）",
)

MANAGE = declare(
    "convenience.household.manage",
    "Administer the 8188890 platform: the provider directory, suspensions, orders, dispatch history and "
    "unassigned orders, complaints about providers",
    "管理8188890社会服务平台：服务商名录、暂停与恢复、工单及派单记录、未派出工单、对服务商的投诉",
)

grant_by_default("household_provider", PROVIDE)
grant_by_default("household_admin", INTAKE, MANAGE)
grant_by_default("admin", INTAKE, MANAGE)
grant_by_default("hotline_operator", INTAKE)  # the 8188890 hotline takes household requests on a caller's behalf
