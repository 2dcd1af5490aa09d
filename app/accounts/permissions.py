"""Permission names and the default grants of the seeded roles; other modules declare theirs here at import."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    name: str
    label_en: str
    label_zh: str

    def label(self, locale: str | None) -> str:
        return self.label_zh if (locale or "").startswith("zh") else self.label_en


_registry: dict[str, Permission] = {}
# Token scopes that no role grants: operations whose access is decided object by object (a named custodian,
# a committee member, a granted viewer). Any account may put them on its tokens; the object check still decides.
_object_scopes: dict[str, Permission] = {}
# Role name -> permissions the seeded role gets by default (applied once; an admin may remove them later).
_default_grants: dict[str, list[str]] = {}


def declare(name: str, label_en: str, label_zh: str) -> str:
    """Declare a permission name (idempotent); returns the name so modules can keep a constant."""
    if not name or name.startswith("@") or name.endswith(".*") or name == "*" or name in _object_scopes:
        raise ValueError(f"invalid permission name {name!r}")
    _registry[name] = Permission(name, label_en, label_zh)
    return name


def declare_object_scope(name: str, label_en: str, label_zh: str) -> str:
    """Declare a token scope that every account holds (idempotent): it guards `@authenticated` operations whose
    access is decided per object (membership, custody, a grant), so a token reaches them only when it says so."""
    if not name or name.startswith("@") or name.endswith(".*") or name == "*" or name in _registry:
        raise ValueError(f"invalid scope name {name!r}")
    _object_scopes[name] = Permission(name, label_en, label_zh)
    return name


def object_scopes() -> dict[str, Permission]:
    return dict(sorted(_object_scopes.items()))


def grant_by_default(role: str, *permissions: str) -> None:
    """Give the seeded role `role` these permissions the first time reference data sees them."""
    grants = _default_grants.setdefault(role, [])
    for perm in permissions:
        if perm not in _registry:
            raise ValueError(f"permission {perm!r} is not declared")
        if perm not in grants:
            grants.append(perm)


def declared() -> dict[str, Permission]:
    return dict(sorted(_registry.items()))


def is_declared(name: str) -> bool:
    return name in _registry


def default_grants(role: str) -> list[str]:
    return list(_default_grants.get(role, []))


def scope_is_valid(scope: str) -> bool:
    """A token scope: '*', a declared permission or object scope, or a prefix 'module.*' of at least one of them."""
    return scope == "*" or scope_is_held(scope, set(_registry) | set(_object_scopes))


def scope_is_held(scope: str, held: set[str]) -> bool:
    """True when `scope` gives a token something of `held` (names): '*' always (it means all the roles allow),
    a name when held, a prefix 'module.*' when it covers at least one held name."""
    if scope == "*":
        return True
    if scope.endswith(".*"):
        prefix = scope[:-1]
        return any(name.startswith(prefix) for name in held)
    return scope in held


def holdable_scopes(role_permissions: set[str]) -> set[str]:
    """The scope names an account may put on its tokens: its roles' permissions and every object scope."""
    return set(role_permissions) | set(_object_scopes)


ACCOUNTS_SELF = declare("accounts.self", "Own account, password, API tokens", "本人账户、密码和API令牌")
ACCOUNTS_ADMIN = declare("accounts.admin", "Manage users, organisations and roles", "管理用户、机构和角色")
ORGANISATIONS_READ = declare(
    "accounts.organisations", "Read the organisation directory (e.g. to name a buyer)", "查阅机构名录（如选择采购人）"
)
AUDIT_READ = declare("audit.read", "Read the evidence log", "查阅存证日志")

# The seeded roles: name -> (English label, Chinese label, requires TOTP).
SEEDED_ROLES: dict[str, tuple[str, str, bool]] = {
    "admin": ("Administrator", "系统管理员", True),
    "agency": ("Tendering agency / buyer", "招标代理机构/采购人", True),
    "bidder": ("Bidder", "投标人", False),
    "expert": ("Evaluation expert", "评标专家", False),
    "auditor": ("Auditor", "审计人员", True),
    "supervisor": ("Supervisor", "电子监察人员", True),
    "window_staff": ("Convenience window staff", "便民服务窗口工作人员", False),
    "permits_clerk": ("Permits desk clerk", "行政许可受理窗口工作人员", False),
    "permits_reviewer": ("Permits department reviewer", "行政许可部门审查人员", False),
    "hotline_operator": ("Hotline operator", "热线话务员", False),
    "department_handler": ("Department handler of citizens' requests", "部门诉求承办人员", False),
    "dispatcher": ("Citizens' requests dispatcher", "政民互动调度员", False),
    "duty_leader": ("Leader on duty", "带班领导", True),
    "household_provider": ("Household-service provider", "家政服务商", False),
    "household_admin": ("8188890 platform administrator", "8188890社会服务平台管理员", False),
}

for _role in SEEDED_ROLES:
    grant_by_default(_role, ACCOUNTS_SELF)
grant_by_default("admin", ACCOUNTS_ADMIN, AUDIT_READ, ORGANISATIONS_READ)
grant_by_default("agency", ORGANISATIONS_READ)
grant_by_default("auditor", AUDIT_READ)
grant_by_default("supervisor", AUDIT_READ)


def permission_label(name: str, locale: str | None = None) -> str:
    """What a person reads for a permission or token scope, in `locale` (default: the request's language).

    `*` is every scope the account holds; an undeclared name is shown as it is.
    """
    if locale is None:
        from flask_babel import get_locale

        try:
            locale = str(get_locale() or "zh_CN")
        except RuntimeError:  # outside a request: the platform's language
            locale = "zh_CN"
    if name == "*":
        return "全部权限" if locale.startswith("zh") else "Everything the account holds"
    found = _registry.get(name) or _object_scopes.get(name)
    return found.label(locale) if found is not None else name
