"""Supervision permissions and the seeded roles that hold them by default."""

from __future__ import annotations

from app.accounts.permissions import declare, grant_by_default

WATCH = declare(
    "supervision.watch",
    "Electronic supervision: see every floor's lights and signals, accept or reject explanations",
    "电子监察：查看各楼层的黄灯红灯和监察信号，审核情况说明",
)

# The center's supervisors (电子监察人员, the discipline-inspection office's staff) and the administrator.
grant_by_default("supervisor", WATCH)
grant_by_default("admin", WATCH)
