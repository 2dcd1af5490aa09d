"""Permissions of the recordings module and the seeded roles that hold them by default."""

from __future__ import annotations

from app.accounts.permissions import declare, declare_object_scope, grant_by_default

REPLAY = declare("recordings.replay", "Replay and export recorded sessions", "回放和导出录音录像")
GRANT = declare("recordings.grant", "Let other users replay a recorded session", "授权他人回放录音录像")
OPERATE = declare("recordings.operate", "Start and stop room recordings, schedule them", "启动、停止和预约房间录制")
MANAGE = declare("recordings.manage", "Manage recording rooms and cameras", "管理录制房间和摄像机")

# Grants are per session, so no role grants this; a grant holder's token replays only with it.
GRANTED = declare_object_scope(
    "recordings.granted",
    "Replay (and export) the recorded sessions an auditor granted you",
    "回放（及导出）审计人员授权给本人的录音录像",
)

# Auditors and supervisors replay; auditors decide who else may; agencies run openings; admins set up rooms.
grant_by_default("auditor", REPLAY, GRANT)
grant_by_default("supervisor", REPLAY)
grant_by_default("agency", OPERATE)
grant_by_default("admin", OPERATE, MANAGE)
