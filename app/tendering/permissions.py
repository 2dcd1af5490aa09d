"""Tendering permissions and the seeded roles that hold them by default."""

from __future__ import annotations

from app.accounts.permissions import declare, declare_object_scope, grant_by_default

MANAGE = declare(
    "tendering.manage", "Draft, publish and run tenders of one's agency", "起草、发布和组织本机构的招标项目"
)
BID = declare("tendering.bid", "Register interest, ask questions, submit sealed bids", "报名、提问、递交加密投标文件")
READ_OPENED = declare(
    "tendering.read_opened", "Read opened bids after the opening (oversight)", "开标后查阅已解密的投标文件（监督）"
)

# Custodians are named per tender, so no role grants custody; a token handles key shares only with this scope.
CUSTODY = declare_object_scope(
    "tendering.custody",
    "Download and bring one's key share as a named custodian of a tender",
    "作为招标项目指定的密钥保管人下载和提交本人的密钥分片",
)

grant_by_default("agency", MANAGE)
grant_by_default("bidder", BID)
grant_by_default("auditor", READ_OPENED)
grant_by_default("supervisor", READ_OPENED)
