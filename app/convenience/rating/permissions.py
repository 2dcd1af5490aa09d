"""好差评 permissions and the seeded roles that hold them by default."""

from __future__ import annotations

from app.accounts.permissions import declare, grant_by_default

RECTIFY = declare(
    "convenience.rating.rectify",
    "Work the rectification tasks of bad ratings given to you: call the citizen back, close with what was done; "
    "appeal a rating",
    "处理本人收到差评的整改任务：回访群众、填写整改情况后办结；对评价提出申诉",
)

SUPERVISE = declare(
    "convenience.rating.supervise",
    "Supervise service ratings: every rectification task, decide appeals, read and export the results",
    "督办好差评：查看全部整改任务、裁决申诉、查看和导出评价结果",
)

grant_by_default("window_staff", RECTIFY)
grant_by_default("permits_clerk", RECTIFY)
grant_by_default("admin", RECTIFY, SUPERVISE)
