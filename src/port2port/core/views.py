"""Pages of core. They translate between HTTP and services/selectors; the rules live there."""

from __future__ import annotations

import base64
import time
from datetime import timedelta

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import oidc, selectors, services
from .errors import AppError, Forbidden, Invalid, NotAuthenticated, Throttled
from .forms import (
    AccountForm,
    AuditFilterForm,
    ClearanceForm,
    CodeForm,
    LanguageForm,
    LoginForm,
    MembershipForm,
    OidcLinkForm,
    OrganisationForm,
    PasswordChangeForm,
    PasswordResetForm,
    PersonEditForm,
    PersonForm,
    TokenForm,
    add_service_errors,
    run_service,
)
from .middleware import SECOND_FACTOR_SESSION_KEY
from .models import OrganisationKind, User
from .roles import Perm
from .visibility import reach

PENDING_KEY = "p2p_pending_user"
PENDING_AT_KEY = "p2p_pending_at"
# Set only where enrolling an authenticator is legitimate: no authenticator yet, or a signed-in
# user replacing theirs. Without it, a password alone could enrol a new device and skip TOTP.
PENDING_ENROL_KEY = "p2p_pending_may_enrol"
PENDING_SECONDS = 300


def _page(request, queryset, per_page: int = 25):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return target
    return default


# Login ------------------------------------------------------------------------------------------


def _set_pending(request, user: User, *, may_enrol: bool = False) -> None:
    request.session[PENDING_KEY] = str(user.pk)
    request.session[PENDING_AT_KEY] = int(time.time())
    request.session[PENDING_ENROL_KEY] = may_enrol


def _pending_user(request) -> User | None:
    user_id, started = request.session.get(PENDING_KEY), request.session.get(PENDING_AT_KEY, 0)
    if not user_id or time.time() - started > PENDING_SECONDS:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def _complete_login(
    request, user: User, *, method: str, device=None, second_factor: str = ""
) -> HttpResponseRedirect:
    next_url = request.session.get("p2p_next") or reverse("core:dashboard")
    request.session.pop(PENDING_KEY, None)
    request.session.pop(PENDING_ENROL_KEY, None)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if device is not None:
        otp_login(request, device)
    request.session[SECOND_FACTOR_SESSION_KEY] = second_factor
    services.login_succeeded(user=user, method=method)
    if user.language:
        translation.activate(user.language)
    return redirect(next_url)


def login_view(request):
    if request.user.is_authenticated:
        return redirect("core:dashboard")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.login_check_password(
                username=form.cleaned_data["username"], password=form.cleaned_data["password"]
            )
        except (NotAuthenticated, Throttled) as error:
            form.add_error(
                None, _(error.message) if isinstance(error, NotAuthenticated) else error.message
            )
        else:
            request.session["p2p_next"] = _safe_next(request, reverse("core:dashboard"))
            if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
                _set_pending(request, user)
                return redirect("core:login_totp")
            if user.requires_second_factor:
                _set_pending(request, user, may_enrol=True)
                return redirect("core:login_enrol")
            return _complete_login(request, user, method="password")
    return render(request, "core/login.html", {"form": form, "next": request.GET.get("next", "")})


def login_totp_view(request):
    user = _pending_user(request)
    if user is None:
        messages.info(request, _("Please sign in again."))
        return redirect("core:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.login_check_totp(user=user, code=form.cleaned_data["code"])
        except Throttled as error:
            request.session.pop(PENDING_KEY, None)
            messages.error(request, error.message)
            return redirect("core:login")
        except AppError:
            form.add_error(
                "code",
                _("This code is not valid. Enter the current code of your authenticator app."),
            )
        else:
            return _complete_login(
                request, user, method="password+totp", device=device, second_factor="totp"
            )
    return render(request, "core/login_totp.html", {"form": form, "pending": user})


def _qr_svg(device: TOTPDevice) -> str:
    return segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#111", light="#fff")


def _base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode()


def login_enrol_view(request):
    """Enrol an authenticator app by QR code; finishes the login that required it."""
    user = _pending_user(request)
    if user is None or not request.session.get(PENDING_ENROL_KEY):
        messages.info(request, _("Please sign in again."))
        return redirect("core:login")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None or request.method == "GET":
        device = services.totp_enrolment_start(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.totp_enrolment_confirm(user=user, code=form.cleaned_data["code"])
        except AppError:
            form.add_error(
                "code", _("This code does not match. Check the time on your phone and try again.")
            )
        else:
            messages.success(request, _("Your authenticator app is set up."))
            return _complete_login(
                request, user, method="password+totp-enrolled", device=device, second_factor="totp"
            )
    return render(
        request,
        "core/login_enrol.html",
        {"form": form, "qr_svg": _qr_svg(device), "secret": _base32(device), "pending": user},
    )


@login_required
def second_factor_upgrade_view(request):
    """A signed-in user who now needs TOTP (new role or clearance) proves it before going on."""
    user = request.user
    logout(request)
    has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    _set_pending(request, user, may_enrol=not has_device)
    messages.info(request, _("Your account now requires a second factor."))
    return redirect("core:login_totp" if has_device else "core:login_enrol")


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        services.logout_record(user=request.user)
    logout(request)
    messages.info(request, _("You are signed out."))
    return redirect("core:login")


def oidc_start_view(request):
    if not settings.OIDC_ISSUER:
        raise Invalid(_("OpenID Connect login is not configured"))
    return oidc.oidc_redirect(request, request.build_absolute_uri(reverse("core:oidc_callback")))


def oidc_callback_view(request):
    if not settings.OIDC_ISSUER:
        raise Invalid(_("OpenID Connect login is not configured"))
    try:
        subject = oidc.oidc_subject_from_callback(request)
    except NotAuthenticated as error:
        services.login_oidc_failure_record(reason=error.message)
        messages.error(request, error.message)
        return redirect("core:login")
    user = User.objects.filter(oidc_subject=subject, is_active=True).first()
    if user is None:
        services.login_oidc_failure_record(
            reason="no account is linked to this identity", subject=subject
        )
        messages.error(
            request,
            _(
                "No account is linked to this %(provider)s identity. Ask your security officer to link it."
            )
            % {"provider": settings.OIDC_DISPLAY_NAME},
        )
        return redirect("core:login")
    if user.is_locked():
        messages.error(request, _("This account is locked after repeated failed logins."))
        return redirect("core:login")
    if settings.OIDC_COUNTS_AS_SECOND_FACTOR:
        return _complete_login(request, user, method="oidc", second_factor="oidc")
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        _set_pending(request, user)
        return redirect("core:login_totp")
    if user.requires_second_factor:
        _set_pending(request, user, may_enrol=True)
        return redirect("core:login_enrol")
    return _complete_login(request, user, method="oidc")


@require_POST
def language_view(request):
    form = LanguageForm(request.POST)
    target = _safe_next(request, reverse("core:dashboard"))
    if not form.is_valid():
        return redirect(target)
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        services.user_set_language(actor=request.user, language=language)
    translation.activate(language)
    response = redirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 86400,
        samesite="Lax",
        secure=settings.HTTPS,
    )
    return response


# Dashboard and own account ----------------------------------------------------------------------


@login_required
def dashboard_view(request):
    from django.apps import apps

    # Every module may add a panel of its own through `dashboard_panel(request)` on its AppConfig.
    panels = [
        panel
        for config in apps.get_app_configs()
        if hasattr(config, "dashboard_panel")
        for panel in [config.dashboard_panel(request)]
        if panel
    ]
    return render(
        request,
        "core/dashboard.html",
        {"board": selectors.dashboard_for(request.user), "panels": panels, "section": "dashboard"},
    )


@login_required
def account_view(request):
    user = request.user
    has_totp = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    return render(
        request,
        "core/account.html",
        {
            "has_totp": has_totp,
            "memberships": user.grants(),
            "effective_clearance": user.effective_clearance(),
            "section": "account",
        },
    )


@login_required
def password_change_view(request):
    from django.contrib.auth import update_session_auth_hash

    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(
                actor=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except Invalid as error:
            add_service_errors(form, error)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("Your password is changed."))
            return redirect("core:dashboard")
    return render(request, "core/password_change.html", {"form": form, "section": "account"})


@login_required
@require_POST
def account_enrol_view(request):
    """Set up (or replace) one's own authenticator: re-enter through the enrolment step."""
    user = request.user
    logout(request)
    _set_pending(request, user, may_enrol=True)
    return redirect("core:login_enrol")


# Organisations ----------------------------------------------------------------------------------


@login_required
def organisations_view(request):
    search, port, kind = (
        request.GET.get("q", ""),
        request.GET.get("port", ""),
        request.GET.get("kind", ""),
    )
    page = _page(
        request,
        selectors.organisations_visible_to(request.user, search=search, port=port, kind=kind),
    )
    context = {
        "page": page,
        "q": search,
        "port": port,
        "kind": kind,
        "kinds": OrganisationKind.choices,
        "ports": selectors.ports_visible_to(request.user),
        "can_create": reach(request.user, Perm.CORE_ORGANISATION_CREATE).everything,
        "section": "organisations",
    }
    template = "core/_organisation_rows.html" if _is_htmx(request) else "core/organisations.html"
    return render(request, template, context)


@login_required
def organisation_create_view(request):
    if not reach(request.user, Perm.CORE_ORGANISATION_CREATE).everything:
        raise Forbidden(_("you are not allowed to create organisations"))
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = services.organisation_create(actor=request.user, **form.cleaned_data)
        except Invalid as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("Organisation %(name)s created.") % {"name": organisation.name}
            )
            return redirect("core:organisation", organisation_id=organisation.pk)
    return render(
        request, "core/organisation_form.html", {"form": form, "section": "organisations"}
    )


@login_required
def organisation_edit_view(request, organisation_id):
    organisation = selectors.organisation_get(request.user, organisation_id)
    initial = {
        "name": organisation.name,
        "short_name": organisation.short_name,
        "kind": organisation.kind,
        "ports": list(organisation.ports.all()),
        "vat_number": organisation.vat_number,
        "eori_number": organisation.eori_number,
    }
    form = OrganisationForm(request.POST or None, initial=initial)
    is_admin = reach(request.user, Perm.CORE_ORGANISATION_CREATE).everything
    if not is_admin:
        form.fields["ports"].disabled = True
        form.fields["kind"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if not is_admin:
            data.pop("ports")
            data.pop("kind")
        try:
            services.organisation_update(actor=request.user, organisation=organisation, **data)
        except Invalid as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("core:organisation", organisation_id=organisation.pk)
    return render(
        request,
        "core/organisation_form.html",
        {"form": form, "organisation": organisation, "section": "organisations"},
    )


@login_required
def organisation_view(request, organisation_id):
    viewer = request.user
    organisation = selectors.organisation_get(viewer, organisation_id)
    can = {
        "people": reach(viewer, Perm.CORE_PERSON_VIEW).covers(organisation.pk),
        "add_person": reach(viewer, Perm.CORE_PERSON_CREATE).covers(organisation.pk),
        "memberships": reach(viewer, Perm.CORE_MEMBERSHIP_VIEW).covers(organisation.pk),
        "tokens": reach(viewer, Perm.CORE_TOKEN_VIEW).covers(organisation.pk),
        "create_token": reach(viewer, Perm.CORE_TOKEN_CREATE).covers(organisation.pk),
        "edit": reach(viewer, Perm.CORE_ORGANISATION_CHANGE).covers(organisation.pk),
        "audit": reach(viewer, Perm.CORE_AUDIT_VIEW).covers(organisation.pk),
    }
    return render(
        request,
        "core/organisation.html",
        {
            "organisation": organisation,
            "can": can,
            "people": selectors.people_visible_to(viewer, organisation=organisation)[:200]
            if can["people"]
            else [],
            "memberships": selectors.memberships_visible_to(viewer, organisation=organisation)
            if can["memberships"]
            else [],
            "tokens": selectors.tokens_visible_to(viewer, organisation=organisation)
            if can["tokens"]
            else [],
            "section": "organisations",
        },
    )


@login_required
def token_create_view(request, organisation_id):
    organisation = selectors.organisation_get(request.user, organisation_id)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data.get("expires_in_days")
        try:
            token, secret = services.token_create(
                actor=request.user,
                organisation=organisation,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except Invalid as error:
            add_service_errors(form, error)
        else:
            response = render(
                request,
                "core/token_created.html",
                {
                    "token": token,
                    "secret": secret,
                    "organisation": organisation,
                    "section": "organisations",
                },
            )
            response["Cache-Control"] = "no-store"
            return response
    elif not reach(request.user, Perm.CORE_TOKEN_CREATE).covers(organisation.pk):
        raise Forbidden(_("you are not allowed to issue tokens for this organisation"))
    return render(
        request,
        "core/token_form.html",
        {"form": form, "organisation": organisation, "section": "organisations"},
    )


@login_required
@require_POST
def token_revoke_view(request, token_id):
    token = selectors.token_get(request.user, token_id)
    services.token_revoke(actor=request.user, token=token)
    messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
    return redirect("core:organisation", organisation_id=token.organisation_id)


# People -----------------------------------------------------------------------------------------


@login_required
def people_view(request):
    search = request.GET.get("q", "")
    page = _page(request, selectors.people_visible_to(request.user, search=search))
    context = {
        "page": page,
        "q": search,
        "can_create": selectors.organisations_where(request.user, Perm.CORE_PERSON_CREATE).exists(),
        "section": "people",
    }
    template = "core/_people_rows.html" if _is_htmx(request) else "core/people.html"
    return render(request, template, context)


@login_required
def person_create_view(request):
    organisations = selectors.organisations_where(request.user, Perm.CORE_PERSON_CREATE)
    initial = {"organisation": request.GET.get("organisation")}
    form = PersonForm(request.POST or None, organisations=organisations, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.person_create(actor=request.user, **form.cleaned_data)
        except Invalid as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("%(name)s added.") % {"name": person})
            return redirect("core:person", person_id=person.pk)
    return render(request, "core/person_form.html", {"form": form, "section": "people"})


@login_required
def person_edit_view(request, person_id):
    person = selectors.person_get(request.user, person_id)
    fields = ["given_name", "family_name", "email", "phone", "job_title"]
    form = PersonEditForm(request.POST or None, initial={f: getattr(person, f) for f in fields})
    if request.method == "POST" and form.is_valid():
        try:
            services.person_update(actor=request.user, person=person, **form.cleaned_data)
        except Invalid as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("core:person", person_id=person.pk)
    return render(
        request, "core/person_form.html", {"form": form, "person": person, "section": "people"}
    )


def _person_context(request, person, **extra):
    viewer = request.user
    account = selectors.user_of_person(viewer, person)
    org_id = person.organisation_id
    context = {
        "person": person,
        "account": account,
        "memberships": selectors.memberships_visible_to(viewer, user=account) if account else [],
        "has_totp": bool(
            account and TOTPDevice.objects.filter(user=account, confirmed=True).exists()
        ),
        "can": {
            "edit": reach(viewer, Perm.CORE_PERSON_CHANGE).covers(org_id),
            "account": reach(viewer, Perm.CORE_USER_CHANGE).covers(org_id),
            "roles": selectors.organisations_where(viewer, Perm.CORE_MEMBERSHIP_CHANGE).exists(),
            "clearance": reach(viewer, Perm.CORE_ORGANISATION_CREATE).everything,
        },
        "account_form": AccountForm(),
        "membership_form": MembershipForm(
            organisations=selectors.organisations_where(viewer, Perm.CORE_MEMBERSHIP_CHANGE),
            initial={"organisation": org_id},
        ),
        "clearance_form": ClearanceForm(
            initial={"level": account.clearance_level, "valid_until": account.clearance_valid_until}
            if account
            else {}
        ),
        "oidc_form": OidcLinkForm(
            initial={"oidc_subject": account.oidc_subject if account else ""}
        ),
        "section": "people",
    }
    context.update(extra)
    return context


@login_required
def person_view(request, person_id):
    person = selectors.person_get(request.user, person_id)
    return render(request, "core/person.html", _person_context(request, person))


def _person_action(request, person_id, form_class, key, act, **form_kwargs):
    """Run one action of the person page; on bad input show the page again with the errors."""
    person = selectors.person_get(request.user, person_id)
    form = form_class(request.POST, **form_kwargs)
    done, message = run_service(form, lambda data: act(person, data))
    if done:
        messages.success(request, message)
        return redirect("core:person", person_id=person.pk)
    return render(
        request, "core/person.html", _person_context(request, person, **{key: form}), status=422
    )


def _account_of(request, person):
    account = selectors.user_of_person(request.user, person)
    if account is None:
        raise Invalid(_("this person has no account yet"))
    return account


@login_required
@require_POST
def person_account_view(request, person_id):
    def act(person, data):
        services.user_create(
            actor=request.user, person=person, username=data["username"], password=data["password"]
        )
        return _("Account created.")

    return _person_action(request, person_id, AccountForm, "account_form", act)


@login_required
@require_POST
def person_membership_view(request, person_id):
    def act(person, data):
        services.membership_set(
            actor=request.user,
            user=_account_of(request, person),
            organisation=data["organisation"],
            roles=data["roles"],
        )
        return _("Roles saved.")

    organisations = selectors.organisations_where(request.user, Perm.CORE_MEMBERSHIP_CHANGE)
    return _person_action(
        request, person_id, MembershipForm, "membership_form", act, organisations=organisations
    )


@login_required
@require_POST
def membership_remove_view(request, membership_id):
    membership = selectors.membership_get(request.user, membership_id)
    person_id = membership.user.person_id
    services.membership_remove(actor=request.user, membership=membership)
    messages.success(request, _("Membership removed."))
    return redirect("core:person", person_id=person_id) if person_id else redirect("core:dashboard")


@login_required
@require_POST
def person_clearance_view(request, person_id):
    def act(person, data):
        services.clearance_set(
            actor=request.user,
            user=_account_of(request, person),
            level=data["level"],
            valid_until=data["valid_until"],
        )
        return _("Clearance saved.")

    return _person_action(request, person_id, ClearanceForm, "clearance_form", act)


@login_required
@require_POST
def person_oidc_view(request, person_id):
    def act(person, data):
        services.oidc_subject_link(
            actor=request.user, user=_account_of(request, person), subject=data["oidc_subject"]
        )
        return _("Identity link saved.")

    return _person_action(request, person_id, OidcLinkForm, "oidc_form", act)


@login_required
@require_POST
def person_account_action_view(request, person_id, action):
    person = selectors.person_get(request.user, person_id)
    account = _account_of(request, person)
    if action == "unlock":
        services.user_unlock(actor=request.user, user=account)
        messages.success(request, _("Account unlocked."))
    elif action == "reset-totp":
        services.totp_reset(actor=request.user, user=account)
        messages.success(
            request, _("Authenticator removed; the person enrols a new one at the next login.")
        )
    elif action == "reset-password":
        form = PasswordResetForm(request.POST)
        if not form.is_valid():
            raise Invalid(_("give a temporary password"), field="password")
        services.password_reset(
            actor=request.user, user=account, password=form.cleaned_data["password"]
        )
        messages.success(
            request, _("Temporary password set; the person must replace it at the next login.")
        )
    elif action in {"activate", "deactivate"}:
        services.user_set_active(actor=request.user, user=account, active=action == "activate")
        messages.success(
            request, _("Account activated.") if action == "activate" else _("Account deactivated.")
        )
    else:
        raise Invalid(_("unknown action “%(action)s”") % {"action": action}, field="action")
    return redirect("core:person", person_id=person.pk)


# Audit ------------------------------------------------------------------------------------------


@login_required
def audit_view(request):
    form = AuditFilterForm(request.GET or None)
    filters = selectors.AuditFilter()
    if form.is_valid():
        data = form.cleaned_data
        filters = selectors.AuditFilter(
            action=data["action"] or "",
            actor=data["actor"] or "",
            organisation=str(data["organisation"] or ""),
            object_id=data["object_id"] or "",
            since=data["since"],
            until=data["until"],
        )
    page = _page(request, selectors.audit_records_visible_to(request.user, filters), per_page=50)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "section": "audit"}
    template = "core/_audit_rows.html" if _is_htmx(request) else "core/audit.html"
    return render(request, template, context)


# Error pages ------------------------------------------------------------------------------------


def error_404(request, exception=None):
    return render(request, "404.html", status=404)


def error_403(request, exception=None):
    return render(request, "403.html", status=403)


def error_400(request, exception=None):
    return render(
        request, "error.html", {"message": _("The request could not be understood.")}, status=400
    )


def error_500(request):
    return render(request, "500.html", status=500)


def csrf_failure(request, reason=""):
    return render(
        request,
        "403.html",
        {
            "message": _(
                "The form expired or was sent from elsewhere. Go back, reload the page and try again."
            )
        },
        status=403,
    )
