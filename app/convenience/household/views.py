"""Pages of the 8188890 platform: the citizen's request and tracking page (the tracking token in its address; rate
and complain there), the provider's portal (its orders, acknowledge, decline, complete), and the center's pages
(the provider directory with suspend / reinstate / withdraw and complaints, orders with their dispatch history,
unassigned orders dispatched by hand)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.accounts.forms import MultiCheckboxField
from app.convenience.household import services
from app.convenience.household.models import OrderStatus, ProviderStatus
from app.convenience.household.permissions import INTAKE, MANAGE, PROVIDE
from app.convenience.rating.models import LEVELS
from app.convenience.rating.views import LEVEL_LABELS
from app.core.errors import NotFound
from app.core.forms import YuanField
from app.core.pages import attempt, me
from app.core.problems import N_
from app.core.security import caller_has, public, requires
from app.core.views import register_nav

bp = Blueprint("household", __name__, url_prefix="/convenience/household", template_folder="templates")


def localized(zh: str, en: str) -> str:
    return en if str(get_locale() or "zh_CN").startswith("en") and en else zh


class RequestForm(FlaskForm):
    category = SelectField(_l("Service needed"), choices=[], validate_choice=True, validators=[InputRequired()])
    district = SelectField(
        _l("District of the address"), choices=[], validate_choice=True, validators=[InputRequired()]
    )
    address = StringField(
        _l("Address of the service"),
        validators=[InputRequired(_l("Give the address.")), Length(max=200)],
        description=_l("Street, building, unit and room."),
    )
    preferred_time = StringField(
        _l("Preferred time"),
        validators=[InputRequired(_l("Say when the service suits you.")), Length(max=100)],
        description=_l("For example: Saturday morning, or weekdays after 6 pm."),
    )
    description = TextAreaField(
        _l("What is needed"), validators=[InputRequired(_l("Describe what is needed.")), Length(max=2000)]
    )
    contact_name = StringField(_l("Your name"), validators=[InputRequired(_l("Give your name.")), Length(max=40)])
    contact_phone = StringField(
        _l("Telephone"),
        validators=[InputRequired(_l("Give a telephone number.")), Length(max=20)],
        description=_l("The provider calls you on this number."),
    )
    submit = SubmitField(_l("Send the request"))


class RateForm(FlaskForm):
    level = RadioField(
        _l("How satisfied are you with the service?"),
        choices=[(lv.value, LEVEL_LABELS[lv.value]) for lv in LEVELS],
        validators=[InputRequired(_l("Choose one of the five levels."))],
        validate_choice=True,
    )
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Send my rating"))


class ComplaintForm(FlaskForm):
    text = TextAreaField(
        _l("Your complaint about the provider"),
        validators=[InputRequired(_l("Describe the problem.")), Length(max=2000)],
    )
    submit = SubmitField(_l("Send the complaint"))


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Why you decline"), validators=[InputRequired(_l("Give the reason.")), Length(max=500)])
    submit = SubmitField(_l("Decline the order"))


class CompleteForm(FlaskForm):
    work_done = TextAreaField(
        _l("Work carried out"), validators=[InputRequired(_l("Say what work was carried out.")), Length(max=2000)]
    )
    price = YuanField(
        _l("Price (yuan)"),
        validators=[InputRequired(_l("Enter the price in yuan."))],
        max_fen=services.MAX_PRICE_FEN,
        description=_l("What the citizen pays, in yuan, with at most two decimals."),
    )
    submit = SubmitField(_l("Record the completion"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(_l("Give the reason.")), Length(max=500)])
    submit = SubmitField(_l("Confirm with this reason"))


class AssignForm(FlaskForm):
    provider = SelectField(_l("Household-service provider"), choices=[], coerce=int, validate_choice=True)
    submit = SubmitField(_l("Dispatch to this provider"))


class ProviderForm(FlaskForm):
    name = StringField(_l("Company name"), validators=[InputRequired(_l("Give the company's name.")), Length(max=100)])
    uscc = StringField(
        _l("Unified social credit code"),
        validators=[InputRequired(_l("Give the unified social credit code.")), Length(max=40)],
        description=_l("18 characters, as on the business licence."),
    )
    contact_name = StringField(_l("Contact person"), validators=[InputRequired(_l("Give a contact.")), Length(max=40)])
    contact_phone = StringField(
        _l("Contact telephone"), validators=[InputRequired(_l("Give a telephone number.")), Length(max=20)]
    )
    categories = MultiCheckboxField(_l("Categories served"))
    districts = MultiCheckboxField(_l("Districts served"))
    submit = SubmitField(_l("Add to the directory"))


class ProviderAmendForm(FlaskForm):
    """The details of a provider in the directory that may change (its code is its identity and does not)."""

    name = ProviderForm.name
    contact_name = ProviderForm.contact_name
    contact_phone = ProviderForm.contact_phone
    categories = MultiCheckboxField(_l("Categories served"))
    districts = MultiCheckboxField(_l("Districts served"))
    submit = SubmitField(_l("Save the changes"))


def _category_choices() -> list[tuple[str, str]]:
    return [(c.code, localized(c.name, c.name_en)) for c in services.categories()]


def _district_choices() -> list[tuple[str, str]]:
    return [(d.code, localized(d.name, d.name_en)) for d in services.districts()]


# --- citizen -----------------------------------------------------------------------------------------------------


@bp.route("/request", methods=["GET", "POST"])
@public
def request_page() -> Any:
    """Request a household service (a citizen without an account; a hotline operator on the citizen's behalf)."""
    form = RequestForm()
    form.category.choices = [("", str(_l("Choose a service"))), *_category_choices()]
    form.district.choices = [("", str(_l("Choose a district"))), *_district_choices()]
    operator = caller_has(INTAKE)
    errors, status = None, 200
    if request.method == "POST":
        if form.validate_on_submit():
            with attempt(form) as outcome:
                order = services.request_order(
                    actor=me() if operator else None,
                    category=form.category.data,
                    district=form.district.data,
                    address=form.address.data,
                    preferred_time=form.preferred_time.data,
                    description=form.description.data,
                    contact_name=form.contact_name.data,
                    contact_phone=form.contact_phone.data,
                )
            if not outcome.failed:
                flash(str(_l("Your request was received: keep this page's address to follow it.")), "success")
                if operator and caller_has(MANAGE):
                    return redirect(url_for("household.admin_order", reference=order.reference), code=303)
                return redirect(url_for("household.track", reference=order.reference, token=order.token), code=303)
            errors, status = outcome.errors, outcome.status
        else:
            status = 422
    return render_template("household/request.html", form=form, errors=errors, operator=operator), status


def _track_page(
    reference: str,
    token: str,
    *,
    rate: RateForm | None = None,
    complaint: ComplaintForm | None = None,
    errors: Any = None,
    status: int = 200,
) -> Any:
    order = services.tracked(reference, token)
    return render_template(
        "household/track.html",
        order=order,
        token=token,
        rating=services.rating_of(order),
        rate=rate or RateForm(),
        complaint=complaint or ComplaintForm(),
        errors=errors,
        level_labels=LEVEL_LABELS,
    ), status


@bp.get("/track/<string:reference>/<string:token>")
@public
def track(reference: str, token: str) -> Any:
    """Follow the order (the tracking token is the key): its state, the provider, the price; rate and complain."""
    return _track_page(reference, token)


@bp.post("/track/<string:reference>/<string:token>/rate")
@public
def rate(reference: str, token: str) -> Any:
    services.tracked(reference, token)
    form = RateForm()
    if not form.validate_on_submit():
        return _track_page(reference, token, rate=form, status=422)
    with attempt(form) as outcome:
        services.rate(reference=reference, token=token, level=form.level.data, comment=form.comment.data or "")
    if outcome.failed:
        return _track_page(reference, token, rate=form, errors=outcome.errors, status=outcome.status)
    flash(str(_l("Thank you: your rating was received.")), "success")
    return redirect(url_for("household.track", reference=reference, token=token), code=303)


@bp.post("/track/<string:reference>/<string:token>/complain")
@public
def complain(reference: str, token: str) -> Any:
    order = services.tracked(reference, token)
    form = ComplaintForm()
    if not form.validate_on_submit():
        return _track_page(reference, token, complaint=form, status=422)
    with attempt(form) as outcome:
        services.complain(actor=None, text=form.text.data, order=order)
    if outcome.failed:
        return _track_page(reference, token, complaint=form, errors=outcome.errors, status=outcome.status)
    flash(str(_l("Your complaint was recorded; the center follows it up.")), "success")
    return redirect(url_for("household.track", reference=reference, token=token), code=303)


# --- provider portal ---------------------------------------------------------------------------------------------


@bp.get("/portal")
@requires(PROVIDE)
def portal() -> Any:
    provider = services.provider_of(me())
    return render_template(
        "household/portal.html",
        provider=provider,
        rows=services.orders_of(provider),
        standing=services.standing(provider),
    )


def _portal_order(
    reference: str,
    *,
    decline: DeclineForm | None = None,
    complete: CompleteForm | None = None,
    errors: Any = None,
    status: int = 200,
) -> Any:
    provider = services.provider_of(me())
    order = services.get_order(reference)
    if order.provider_id != provider.id:
        raise NotFound(N_("No such household-service order."))
    return render_template(
        "household/portal_order.html",
        provider=provider,
        order=order,
        decline=decline or DeclineForm(),
        complete=complete or CompleteForm(),
        errors=errors,
    ), status


@bp.get("/portal/<string:reference>")
@requires(PROVIDE)
def portal_order(reference: str) -> Any:
    return _portal_order(reference)


@bp.post("/portal/<string:reference>/accept")
@requires(PROVIDE)
def portal_accept(reference: str) -> Any:
    form = FlaskForm()
    if not form.validate_on_submit():
        return _portal_order(reference, status=422)
    with attempt(form) as outcome:
        services.accept(actor=me(), reference=reference)
    if outcome.failed:
        return _portal_order(reference, errors=outcome.errors, status=outcome.status)
    flash(str(_l("You accepted the order: contact the citizen.")), "success")
    return redirect(url_for("household.portal_order", reference=reference), code=303)


@bp.post("/portal/<string:reference>/decline")
@requires(PROVIDE)
def portal_decline(reference: str) -> Any:
    form = DeclineForm()
    if not form.validate_on_submit():
        return _portal_order(reference, decline=form, status=422)
    with attempt(form) as outcome:
        services.decline(actor=me(), reference=reference, reason=form.reason.data)
    if outcome.failed:
        return _portal_order(reference, decline=form, errors=outcome.errors, status=outcome.status)
    flash(str(_l("You declined the order; it goes to the next provider.")), "success")
    return redirect(url_for("household.portal"), code=303)


@bp.post("/portal/<string:reference>/complete")
@requires(PROVIDE)
def portal_complete(reference: str) -> Any:
    form = CompleteForm()
    if not form.validate_on_submit():
        return _portal_order(reference, complete=form, status=422)
    with attempt(form, aliases={"price": "price"}) as outcome:
        services.complete(actor=me(), reference=reference, work_done=form.work_done.data, price_fen=form.price.data)
    if outcome.failed:
        return _portal_order(reference, complete=form, errors=outcome.errors, status=outcome.status)
    flash(str(_l("The completion was recorded.")), "success")
    return redirect(url_for("household.portal_order", reference=reference), code=303)


# --- center ------------------------------------------------------------------------------------------------------


@bp.get("/admin/providers")
@requires(MANAGE)
def admin_providers() -> Any:
    rows = services.list_providers()
    return render_template("household/providers.html", rows=rows, standings=services.standings([p.id for p in rows]))


@bp.route("/admin/providers/new", methods=["GET", "POST"])
@requires(MANAGE)
def admin_provider_new() -> Any:
    form = ProviderForm()
    form.categories.choices = _category_choices()
    form.districts.choices = _district_choices()
    sent, errors, status = _send_provider_form(
        form,
        lambda **fields: services.register_provider(actor=me(), uscc=form.uscc.data, **fields),
        _l("The provider was added to the directory."),
    )
    if sent is not None:
        return sent
    return render_template("household/provider_new.html", form=form, errors=errors), status


def _send_provider_form(form: Any, save: Any, done: Any) -> tuple[Any, Any, int]:
    """A posted provider form given to `save` (its name, contact, categories and districts as keyword arguments):
    the redirect to the provider's page once saved, else (None, errors, status) to show the form again with."""
    if request.method != "POST":
        return None, None, 200
    if not form.validate_on_submit():
        return None, None, 422
    with attempt(form) as outcome:
        provider = save(
            name=form.name.data,
            contact_name=form.contact_name.data,
            contact_phone=form.contact_phone.data,
            categories=list(form.categories.data or []),
            districts=list(form.districts.data or []),
        )
    if outcome.failed:
        return None, outcome.errors, outcome.status
    flash(str(done), "success")
    return redirect(url_for("household.admin_provider", provider_id=provider.id), code=303), None, 200


def _provider_page(
    provider_id: int,
    *,
    form: ReasonForm | None = None,
    withdraw: ReasonForm | None = None,
    complaint: ComplaintForm | None = None,
    errors: Any = None,
    status: int = 200,
) -> Any:
    provider = services.get_provider(provider_id)
    if withdraw is None:
        withdraw = ReasonForm(prefix="withdraw")
    withdraw.submit.label.text = str(_l("Mark as having left the platform"))
    return render_template(
        "household/provider.html",
        provider=provider,
        standing=services.standing(provider),
        complaints=services.complaints(provider.id),
        form=form or ReasonForm(),
        withdraw=withdraw,
        complaint=complaint or ComplaintForm(),
        errors=errors,
        statuses=ProviderStatus,
    ), status


@bp.get("/admin/providers/<int:provider_id>")
@requires(MANAGE)
def admin_provider(provider_id: int) -> Any:
    return _provider_page(provider_id)


@bp.route("/admin/providers/<int:provider_id>/edit", methods=["GET", "POST"])
@requires(MANAGE)
def admin_provider_edit(provider_id: int) -> Any:
    """Change a provider's name, contact, categories and districts."""
    provider = services.get_provider(provider_id)
    form = ProviderAmendForm()
    if request.method == "GET":
        form.name.data = provider.name
        form.contact_name.data = provider.contact_name
        form.contact_phone.data = provider.contact_phone
        form.categories.data = [c.code for c in provider.categories]
        form.districts.data = [d.code for d in provider.districts]
    form.categories.choices = _category_choices()
    form.districts.choices = _district_choices()
    sent, errors, status = _send_provider_form(
        form,
        lambda **fields: services.amend_provider(actor=me(), provider_id=provider_id, **fields),
        _l("The provider's details were saved."),
    )
    if sent is not None:
        return sent
    return render_template("household/provider_edit.html", provider=provider, form=form, errors=errors), status


ACTIONS = {
    "suspend": (services.suspend_provider, _l("The provider was suspended: dispatch skips it from now on.")),
    "reinstate": (services.reinstate_provider, _l("The provider was reinstated.")),
    "withdraw": (services.withdraw_provider, _l("The provider was marked as having left the platform.")),
}


@bp.post("/admin/providers/<int:provider_id>/<any(suspend, reinstate, withdraw):action>")
@requires(MANAGE)
def admin_provider_status(provider_id: int, action: str) -> Any:
    leaving = action == "withdraw"  # its own form on the page (prefixed field names)
    form = ReasonForm(prefix="withdraw") if leaving else ReasonForm()
    forms = {"withdraw": form} if leaving else {"form": form}
    services.get_provider(provider_id)
    if not form.validate_on_submit():
        return _provider_page(provider_id, **forms, status=422)  # type: ignore[arg-type]
    fn, done = ACTIONS[action]
    with attempt(form, aliases={"reason": form.reason.name}) as outcome:
        fn(actor=me(), provider_id=provider_id, reason=form.reason.data)
    if outcome.failed:
        return _provider_page(
            provider_id,
            **forms,  # type: ignore[arg-type]
            errors=outcome.errors,
            status=outcome.status,
        )
    flash(str(done), "success")
    return redirect(url_for("household.admin_provider", provider_id=provider_id), code=303)


@bp.post("/admin/providers/<int:provider_id>/complaints")
@requires(MANAGE)
def admin_complaint(provider_id: int) -> Any:
    form = ComplaintForm()
    services.get_provider(provider_id)
    if not form.validate_on_submit():
        return _provider_page(provider_id, complaint=form, status=422)
    with attempt(form) as outcome:
        services.complain(actor=me(), text=form.text.data, provider_id=provider_id)
    if outcome.failed:
        return _provider_page(provider_id, complaint=form, errors=outcome.errors, status=outcome.status)
    flash(str(_l("The complaint was recorded.")), "success")
    return redirect(url_for("household.admin_provider", provider_id=provider_id), code=303)


@bp.get("/admin/orders")
@requires(MANAGE)
def admin_orders() -> Any:
    status = request.args.get("status", "all")
    rows = services.list_orders(status if status in {s.value for s in OrderStatus} else None)
    return render_template("household/orders.html", rows=rows, status=status, statuses=list(OrderStatus))


def _order_page(reference: str, *, form: AssignForm | None = None, errors: Any = None, status: int = 200) -> Any:
    order = services.get_order(reference)
    form = form or AssignForm()
    active = services.list_providers(ProviderStatus.ACTIVE.value)
    form.provider.choices = [(p.id, p.name) for p in active]
    return render_template(
        "household/order.html", order=order, form=form, errors=errors, rating=services.rating_of(order)
    ), status


@bp.get("/admin/orders/<string:reference>")
@requires(MANAGE)
def admin_order(reference: str) -> Any:
    return _order_page(reference)


@bp.post("/admin/orders/<string:reference>/assign")
@requires(MANAGE)
def admin_assign(reference: str) -> Any:
    form = AssignForm()
    services.get_order(reference)
    form.provider.choices = [(p.id, p.name) for p in services.list_providers(ProviderStatus.ACTIVE.value)]
    if not form.validate_on_submit():
        return _order_page(reference, form=form, status=422)
    with attempt(form) as outcome:
        services.assign(actor=me(), reference=reference, provider_id=form.provider.data)
    if outcome.failed:
        return _order_page(reference, form=form, errors=outcome.errors, status=outcome.status)
    flash(str(_l("The order was dispatched to the provider.")), "success")
    return redirect(url_for("household.admin_order", reference=reference), code=303)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"household_localized": localized}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("household.portal", _l("Provider portal"), PROVIDE, order=24)
    register_nav("household.admin_orders", _l("Household services"), MANAGE, order=25)
