"""Forms of the core pages: they check types and shapes; the services check the rules."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .errors import AppError, Invalid
from .models import ClearanceLevel, OrganisationKind, Port
from .roles import TOKEN_SCOPES, Role


def add_service_errors(form: forms.Form, error: Invalid) -> None:
    """Show a service's Invalid on the form: at the named field when the form has it."""
    if not error.fields:
        form.add_error(None, error.message)
    for name, message in error.fields.items():
        form.add_error(name if name in form.fields else None, message)


def run_service(form: forms.Form, act) -> tuple[bool, object]:
    """Call `act(cleaned_data)` when the form is valid; a service's error lands on the form.

    Returns (succeeded, what `act` returned). Every page that submits a form to a service uses it.
    """
    if not form.is_valid():
        return False, None
    try:
        return True, act(form.cleaned_data)
    except Invalid as error:
        add_service_errors(form, error)
    except AppError as error:
        form.add_error(None, error.message)
    return False, None


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(render_value=False))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code"),
        max_length=8,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "autofocus": True,
                "pattern": "[0-9 ]*",
            }
        ),
    )


class OrganisationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    short_name = forms.CharField(label=_("Short name"), max_length=40, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=OrganisationKind.choices)
    ports = forms.ModelMultipleChoiceField(
        label=_("Ports"),
        queryset=Port.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    vat_number = forms.CharField(
        label=_("VAT number"),
        max_length=20,
        required=False,
        help_text=_("With country code, e.g. BE0123456749."),
    )
    eori_number = forms.CharField(label=_("EORI number"), max_length=20, required=False)


class PersonForm(forms.Form):
    organisation = forms.ModelChoiceField(label=_("Employer"), queryset=None)
    given_name = forms.CharField(label=_("Given name"), max_length=100)
    family_name = forms.CharField(label=_("Family name"), max_length=100)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=120, required=False)

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations


class PersonEditForm(forms.Form):
    given_name = forms.CharField(label=_("Given name"), max_length=100)
    family_name = forms.CharField(label=_("Family name"), max_length=100)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=120, required=False)


class AccountForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters; tell it to the person through a separate channel."),
    )


class MembershipForm(forms.Form):
    organisation = forms.ModelChoiceField(label=_("Organisation"), queryset=None)
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=Role.choices, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations


class ClearanceForm(forms.Form):
    level = forms.ChoiceField(label=_("Clearance"), choices=ClearanceLevel.choices)
    valid_until = forms.DateField(
        label=_("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What the token is for, e.g. gate system.")
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=[(scope.value, scope.value) for scope in sorted(TOKEN_SCOPES)],
        widget=forms.CheckboxSelectMultiple,
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"), min_value=1, max_value=730, required=False, initial=365
    )


class OidcLinkForm(forms.Form):
    oidc_subject = forms.CharField(
        label=_("itsme / OpenID Connect subject"),
        max_length=255,
        required=False,
        help_text=_("Leave empty to remove the link."),
    )


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("Action"), required=False)
    actor = forms.CharField(label=_("Actor"), required=False)
    organisation = forms.UUIDField(
        label=_("Organisation"), required=False, widget=forms.HiddenInput
    )
    object_id = forms.CharField(label=_("Object id"), required=False, widget=forms.HiddenInput)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES)
    next = forms.CharField(required=False)


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("Current password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters; not a common password."),
    )


class PasswordResetForm(forms.Form):
    password = forms.CharField(
        label=_("Temporary password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("The person must replace it at the next login."),
    )
