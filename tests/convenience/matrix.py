"""Permission-layer rows for the convenience floor, merged into tests/test_permissions_matrix.py. Which window a
staff member may work at (assignment, sign-on) is checked per object in the services (tests/convenience)."""

from __future__ import annotations

from app.accounts.permissions import SEEDED_ROLES

EVERYONE = frozenset({"anonymous", *SEEDED_ROLES})
WINDOW_STAFF = frozenset({"window_staff"})
SIGNED_IN = frozenset(SEEDED_ROLES)  # any account may book (per object: one's own appointments)
OUTBOX = frozenset({"window_staff", "admin"})
MANAGE = frozenset({"admin"})

CONVENIENCE_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    # citizens and the hall: public
    ("GET", "convenience.kiosk"): EVERYONE,
    ("POST", "convenience.take_ticket"): EVERYONE,
    ("GET", "convenience.my_ticket"): EVERYONE,
    ("GET", "convenience.display"): EVERYONE,
    ("GET", "convenience.display_stream"): EVERYONE,
    ("GET", "convenience-api.list_services"): EVERYONE,
    ("POST", "convenience-api.take_ticket"): EVERYONE,
    ("GET", "convenience-api.get_ticket"): EVERYONE,
    ("GET", "convenience-api.hall"): EVERYONE,
    # window staff
    ("GET", "convenience.my_windows"): WINDOW_STAFF,
    ("GET", "convenience.panel"): WINDOW_STAFF,
    ("POST", "convenience.window_action"): WINDOW_STAFF,
    ("POST", "convenience.transfer"): WINDOW_STAFF,
    ("GET", "convenience-api.my_windows"): WINDOW_STAFF,
    ("POST", "convenience-api.window_action"): WINDOW_STAFF,
    ("POST", "convenience-api.transfer"): WINDOW_STAFF,
    # appointments: the kiosk's check-in and the slots are public; booking needs an account
    ("GET", "convenience.kiosk_check_in"): EVERYONE,
    ("POST", "convenience.kiosk_check_in"): EVERYONE,
    ("GET", "convenience-api.appointment_slots"): EVERYONE,
    ("POST", "convenience-api.check_in_kiosk"): EVERYONE,
    ("GET", "convenience.book_services"): SIGNED_IN,
    ("GET", "convenience.book"): SIGNED_IN,
    ("POST", "convenience.book"): SIGNED_IN,
    ("GET", "convenience.my_appointments"): SIGNED_IN,
    ("GET", "convenience.appointment"): SIGNED_IN,
    ("GET", "convenience.appointment_ics"): SIGNED_IN,
    ("GET", "convenience.reschedule"): SIGNED_IN,
    ("POST", "convenience.reschedule"): SIGNED_IN,
    ("POST", "convenience.cancel"): SIGNED_IN,
    ("POST", "convenience.check_in_mine"): SIGNED_IN,
    ("GET", "convenience-api.my_appointments"): SIGNED_IN,
    ("POST", "convenience-api.book_appointment"): SIGNED_IN,
    ("GET", "convenience-api.get_appointment"): SIGNED_IN,
    ("POST", "convenience-api.reschedule_appointment"): SIGNED_IN,
    ("POST", "convenience-api.cancel_appointment"): SIGNED_IN,
    ("POST", "convenience-api.check_in_mine"): SIGNED_IN,
    ("GET", "convenience.outbox"): OUTBOX,
    # home visits: asked for and followed without an account; scheduled by the floor's managers, recorded by staff
    ("GET", "convenience.home_visit_new"): EVERYONE,
    ("POST", "convenience.home_visit_new"): EVERYONE,
    ("GET", "convenience.home_visit"): EVERYONE,
    ("POST", "convenience.home_visit_cancel"): EVERYONE,
    ("POST", "convenience-api.request_home_visit"): EVERYONE,
    ("GET", "convenience-api.get_home_visit"): EVERYONE,
    ("GET", "convenience.home_visits_manage"): MANAGE,
    ("POST", "convenience.home_visit_schedule"): MANAGE,
    ("POST", "convenience.home_visit_decline"): MANAGE,
    ("GET", "convenience.my_visits"): WINDOW_STAFF,
    ("POST", "convenience.my_visit_record"): WINDOW_STAFF,
    # days with their own hours (after-hours sessions, closures)
    ("GET", "convenience.plan_exceptions"): MANAGE,
    ("POST", "convenience.plan_exceptions"): MANAGE,
    ("POST", "convenience.plan_exception_remove"): MANAGE,
    # the hall's managers: windows, staff, the floor's data file
    ("GET", "convenience.admin"): MANAGE,
    ("POST", "convenience.admin_assign"): MANAGE,
    ("POST", "convenience.admin_unassign"): MANAGE,
    ("GET", "convenience.admin_floor_file"): MANAGE,
    ("POST", "convenience.admin_floor_upload"): MANAGE,
}
