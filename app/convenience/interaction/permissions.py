"""政民互动 permissions and the seeded roles that hold them by default.

Machine clients (the mail gateway, the forum importer) are accounts with the hotline operator's role and an API
token scoped to `convenience.interaction.intake`, the platform's one kind of machine credential.
"""

from __future__ import annotations

from app.accounts.permissions import declare, grant_by_default

INTAKE = declare(
    "convenience.interaction.intake",
    "Take in citizens' complaints, suggestions, consultations and help requests (hotline console, e-mail and "
    "forum intake) and call citizens back after a request is closed",
    "受理群众投诉、建议、咨询和求助（热线坐席、邮件和论坛接入），并在办结后回访",
)

HANDLE = declare(
    "convenience.interaction.handle",
    "Handle and reply to the citizens' requests dispatched to your department",
    "办理并答复调度给本部门的群众诉求",
)

DISPATCH = declare(
    "convenience.interaction.dispatch",
    "Dispatch citizens' requests to departments, press for handling (督办) and close them",
    "将群众诉求调度给承办部门，督办并办结",
)

grant_by_default("hotline_operator", INTAKE)
grant_by_default("department_handler", HANDLE)
grant_by_default("dispatcher", DISPATCH, HANDLE)  # the dispatch office answers what no department holds
grant_by_default("admin", INTAKE, DISPATCH, HANDLE)
