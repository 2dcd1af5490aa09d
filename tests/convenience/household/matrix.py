"""Permission-layer rows for the 8188890 platform, merged into tests/test_permissions_matrix.py. Which orders a
provider's account may answer (its own company's) is checked per object (tests/convenience/household)."""

from __future__ import annotations

from app.accounts.permissions import SEEDED_ROLES

EVERYONE = frozenset({"anonymous", *SEEDED_ROLES})
PROVIDERS = frozenset({"household_provider"})
CENTER = frozenset({"household_admin", "admin"})

HOUSEHOLD_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    # citizens (and the hotline operator, by the intake permission inside the view)
    ("GET", "household.request_page"): EVERYONE,
    ("POST", "household.request_page"): EVERYONE,
    ("GET", "household.track"): EVERYONE,
    ("POST", "household.rate"): EVERYONE,
    ("POST", "household.complain"): EVERYONE,
    ("GET", "convenience-household-api.list_categories"): EVERYONE,
    ("GET", "convenience-household-api.list_districts"): EVERYONE,
    ("POST", "convenience-household-api.request_order"): EVERYONE,
    ("GET", "convenience-household-api.track"): EVERYONE,
    ("POST", "convenience-household-api.rate"): EVERYONE,
    ("POST", "convenience-household-api.citizen_complaint"): EVERYONE,
    # the provider's portal
    ("GET", "household.portal"): PROVIDERS,
    ("GET", "household.portal_order"): PROVIDERS,
    ("POST", "household.portal_accept"): PROVIDERS,
    ("POST", "household.portal_decline"): PROVIDERS,
    ("POST", "household.portal_complete"): PROVIDERS,
    ("GET", "convenience-household-api.portal_orders"): PROVIDERS,
    ("POST", "convenience-household-api.accept"): PROVIDERS,
    ("POST", "convenience-household-api.decline"): PROVIDERS,
    ("POST", "convenience-household-api.complete"): PROVIDERS,
    # the center
    ("GET", "household.admin_providers"): CENTER,
    ("GET", "household.admin_provider_new"): CENTER,
    ("POST", "household.admin_provider_new"): CENTER,
    ("GET", "household.admin_provider"): CENTER,
    ("POST", "household.admin_provider_status"): CENTER,
    ("GET", "household.admin_provider_edit"): CENTER,
    ("POST", "household.admin_provider_edit"): CENTER,
    ("POST", "household.admin_complaint"): CENTER,
    ("GET", "household.admin_orders"): CENTER,
    ("GET", "household.admin_order"): CENTER,
    ("POST", "household.admin_assign"): CENTER,
    ("GET", "convenience-household-api.admin_orders"): CENTER,
    ("GET", "convenience-household-api.admin_order"): CENTER,
    ("POST", "convenience-household-api.assign"): CENTER,
    ("GET", "convenience-household-api.providers"): CENTER,
    ("POST", "convenience-household-api.register_provider"): CENTER,
    ("GET", "convenience-household-api.provider"): CENTER,
    ("PUT", "convenience-household-api.amend_provider"): CENTER,
    ("POST", "convenience-household-api.suspend"): CENTER,
    ("POST", "convenience-household-api.reinstate"): CENTER,
    ("POST", "convenience-household-api.withdraw"): CENTER,
    ("GET", "convenience-household-api.list_complaints"): CENTER,
    ("POST", "convenience-household-api.record_complaint"): CENTER,
}
