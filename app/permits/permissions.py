"""Permits permissions and the seeded roles that hold them by default."""

from __future__ import annotations

from app.accounts.permissions import declare, declare_object_scope, grant_by_default

CATALOGUE_MANAGE = declare(
    "permits.catalogue.manage",
    "Maintain the permit item catalogue (departments, items, forms, materials)",
    "维护行政许可事项目录（部门、事项、申请表、材料清单）",
)

CALENDAR_MANAGE = declare(
    "permits.calendar.manage",
    "Load and check the working-day calendar (holidays, make-up working days)",
    "维护工作日历（法定节假日、调休上班日）",
)

grant_by_default("admin", CATALOGUE_MANAGE)
grant_by_default("admin", CALENDAR_MANAGE)

DESK = declare(
    "permits.desk",
    "Work at the unified acceptance desk: enter applications, accept, refuse, send correction notices",
    "统一受理窗口：录入申请、受理、不予受理、一次性告知补正",
)

SUPERVISE = declare(
    "permits.supervise",
    "Supervise the desk: allow a second correction notice for an application (recorded and flagged)",
    "窗口督办：批准对同一申请再次发出补正告知（留痕并标记）",
)

# Online applicants (citizens and enterprises) are any signed-in account; the object check decides the rest.
APPLY = declare_object_scope(
    "permits.apply",
    "Apply for permits online and follow one's own applications",
    "网上申办行政许可事项并查询本人申请",
)

grant_by_default("admin", DESK, SUPERVISE)
grant_by_default("permits_clerk", DESK)  # the desk's clerks; overriding the single notice is not theirs

CERTIFICATE_ISSUE = declare(
    "permits.certificates.issue",
    "Issue and re-issue certificates (sealed with the center's electronic seal)",
    "制发和换发证照（加盖中心电子印章）",
)

CERTIFICATE_REVOKE = declare(
    "permits.certificates.revoke",
    "Revoke certificates in the certificate registry",
    "撤销证照库中的证照",
)

grant_by_default("admin", CERTIFICATE_ISSUE)
grant_by_default("admin", CERTIFICATE_REVOKE)

REVIEW = declare(
    "permits.review",
    "Work as a department's reviewer at the center: the department's tasks and cases, answers and decisions "
    "(decisions need the chief representative's authorisation)",
    "部门审查人员：办理本部门的会办任务和主办案件（答复和决定须持首席代表授权委托书）",
)

AUTHORISATIONS_MANAGE = declare(
    "permits.authorisations.manage",
    "Record departments' staff and their chief representatives' authorisations (grant, revoke)",
    "登记部门进驻人员和首席代表授权委托书（授权、撤销）",
)

grant_by_default("admin", REVIEW, AUTHORISATIONS_MANAGE)
grant_by_default("permits_reviewer", REVIEW)  # a department's staff member; authorisations are per person
