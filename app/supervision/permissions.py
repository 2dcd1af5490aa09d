"""Supervision permissions and the seeded roles that hold them by default."""

from __future__ import annotations

from app.accounts.permissions import declare, declare_object_scope, grant_by_default

WATCH = declare(
    "supervision.watch",
    "Electronic supervision: see every floor's lights and signals, accept or reject explanations",
    "电子监察：查看各楼层的黄灯红灯和监察信号，审核情况说明",
)

# The center's supervisors (电子监察人员, the discipline-inspection office's staff) and the administrator.
grant_by_default("supervisor", WATCH)
grant_by_default("admin", WATCH)

# The API's signals and wall: every account may hold the scope; the service decides what it sees (its own signals,
# its department's as a head, everything as a supervisor).
SIGNALS = declare_object_scope(
    "supervision.signals",
    "Supervision signals: see those naming you or your department, explain them, review (supervisors)",
    "监察信号：查看本人或本部门的信号并作出说明，审核（监察人员）",
)

LEAD = declare(
    "supervision.lead",
    "Leader on duty (市长带班): the day's escalations, written instructions to departments and closing them",
    "带班领导：查看当日督办事项，作出批示并办结",
)
grant_by_default("duty_leader", LEAD)
