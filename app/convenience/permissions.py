"""Convenience permissions and the seeded roles that hold them by default."""

from __future__ import annotations

from app.accounts.permissions import declare, declare_object_scope, grant_by_default

WINDOW_OPERATE = declare(
    "convenience.window.operate",
    "Work at a convenience window: sign on and off, call, recall, serve and transfer tickets",
    "在便民服务窗口办公：签到签退、叫号、重呼、办结和转窗口",
)

MANAGE = declare(
    "convenience.manage",
    "Maintain the convenience floor: services, windows, working plans and staff assignments",
    "维护便民服务：服务事项、窗口、工作计划和人员安排",
)

OUTBOX_READ = declare(
    "convenience.outbox.read",
    "Read the convenience floor's notification outbox (appointment reminders, invitations to rate)",
    "查看便民服务的通知发件箱（预约提醒、评价邀请）",
)

APPOINTMENTS = declare_object_scope(
    "convenience.appointments",
    "Book, change, cancel and check in to your own convenience appointments",
    "预约、改约、取消本人的便民服务预约并签到",
)

grant_by_default("window_staff", WINDOW_OPERATE)
grant_by_default("window_staff", OUTBOX_READ)
grant_by_default("admin", OUTBOX_READ)
grant_by_default("admin", MANAGE)
