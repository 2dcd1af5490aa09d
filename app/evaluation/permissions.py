"""Evaluation permissions and the seeded roles that hold them by default.

Sitting on a committee needs no permission of its own: membership is checked object by object in the services,
so an appointed buyer representative and a drawn expert follow the same rule.
"""

from __future__ import annotations

from app.accounts.permissions import declare, declare_object_scope, grant_by_default

POOL = declare("evaluation.pool", "Maintain the expert pool and the specialty list", "维护评标专家库和专业分类")
RUN = declare(
    "evaluation.run",
    "Define committees, draw experts and run evaluations of one's agency",
    "组建评标委员会、抽取专家、组织评标",
)
OVERSEE = declare(
    "evaluation.oversee",
    "See committee members' names, draw records and room progress (oversight)",
    "查看评标委员会成员、抽取记录和评标进度（监督）",
)

# Sitting on a committee is decided per object, so no role grants it; a token reaches an expert's or a member's
# operations only with this scope (any account may put it on its tokens).
COMMITTEE = declare_object_scope(
    "evaluation.committee",
    "Serve as an expert or committee member: own expert profile, invitations, declarations, the room, the report",
    "担任评标专家或评标委员会成员：本人专家信息、邀请、声明、评标室、评标报告",
)

grant_by_default("admin", POOL)
grant_by_default("agency", RUN)
grant_by_default("auditor", OVERSEE)
grant_by_default("supervisor", OVERSEE)
