"""Permission-layer rows for 政民互动, merged into tests/test_permissions_matrix.py. Which department's requests a
handler sees, and the staff lists by role, are checked per object (tests/convenience/interaction)."""

from __future__ import annotations

from app.accounts.permissions import SEEDED_ROLES

EVERYONE = frozenset({"anonymous", *SEEDED_ROLES})
SIGNED_IN = frozenset(SEEDED_ROLES)
INTAKERS = frozenset({"hotline_operator", "admin"})
HANDLERS = frozenset({"department_handler", "dispatcher", "admin"})
DISPATCHERS = frozenset({"dispatcher", "admin"})

INTERACTION_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "convenience_interaction.new"): EVERYONE,
    ("POST", "convenience_interaction.new"): EVERYONE,
    ("GET", "convenience_interaction.find"): EVERYONE,
    ("GET", "convenience_interaction.track"): EVERYONE,
    ("POST", "convenience_interaction.track"): EVERYONE,
    ("GET", "convenience_interaction.hotline"): INTAKERS,
    ("POST", "convenience_interaction.hotline"): INTAKERS,
    ("GET", "convenience_interaction.callbacks"): INTAKERS,
    ("GET", "convenience_interaction.inbox"): HANDLERS,
    ("GET", "convenience_interaction.dispatcher"): DISPATCHERS,
    ("GET", "convenience_interaction.detail"): SIGNED_IN,
    ("POST", "convenience_interaction.dispatch"): DISPATCHERS,
    ("POST", "convenience_interaction.take_up"): HANDLERS,
    ("POST", "convenience_interaction.reply"): HANDLERS,
    ("POST", "convenience_interaction.press"): DISPATCHERS,
    ("POST", "convenience_interaction.close"): DISPATCHERS,
    ("POST", "convenience_interaction.callback"): INTAKERS,
    ("GET", "convenience_interaction.admin"): DISPATCHERS,
    ("GET", "convenience_interaction.admin_template"): DISPATCHERS,
    ("POST", "convenience_interaction.admin_template"): DISPATCHERS,
    ("POST", "convenience_interaction.admin_add_rule"): DISPATCHERS,
    ("POST", "convenience_interaction.admin_deactivate_rule"): DISPATCHERS,
    ("POST", "convenience_interaction.admin_activate_rule"): DISPATCHERS,
    ("POST", "convenience_interaction.admin_delete_rule"): DISPATCHERS,
    ("GET", "convenience-interaction-api.categories"): EVERYONE,
    ("POST", "convenience-interaction-api.submit"): EVERYONE,
    ("GET", "convenience-interaction-api.track"): EVERYONE,
    ("POST", "convenience-interaction-api.hotline"): INTAKERS,
    ("POST", "convenience-interaction-api.email"): INTAKERS,
    ("POST", "convenience-interaction-api.forum_import"): INTAKERS,
    ("GET", "convenience-interaction-api.staff_list"): SIGNED_IN,
    ("GET", "convenience-interaction-api.staff_get"): SIGNED_IN,
    ("POST", "convenience-interaction-api.dispatch"): DISPATCHERS,
    ("POST", "convenience-interaction-api.take_up"): HANDLERS,
    ("POST", "convenience-interaction-api.reply"): HANDLERS,
    ("POST", "convenience-interaction-api.press"): DISPATCHERS,
    ("POST", "convenience-interaction-api.close"): DISPATCHERS,
    ("POST", "convenience-interaction-api.call_back"): INTAKERS,
    # Open311 GeoReport v2: public; a POST's api_key is checked by the view (400 without one, 403 a bad one)
    ("GET", "open311.discovery"): EVERYONE,
    ("GET", "open311.services_list"): EVERYONE,
    ("GET", "open311.service_definition"): EVERYONE,
    ("GET", "open311.requests_endpoint"): EVERYONE,
    ("POST", "open311.requests_endpoint"): EVERYONE,
    ("GET", "open311.request_detail"): EVERYONE,
    ("GET", "open311.token_lookup"): EVERYONE,
}
