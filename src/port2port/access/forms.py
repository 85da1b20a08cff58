"""Forms of the gate access pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import AccessRight, Badge, CriminalRecordExtract, Verification, Visitor


class DecideForm(forms.Form):
    gate = forms.ModelChoiceField(label=_("Gate"), queryset=None, to_field_name="code")
    badge = forms.CharField(label=_("Badge or pass number"), required=False, max_length=40)
    plate = forms.CharField(label=_("Or vehicle plate"), required=False, max_length=20)
    direction = forms.ChoiceField(
        label=_("Direction"), choices=[("in", _("In")), ("out", _("Out"))]
    )

    def __init__(self, *args, gates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gate"].queryset = gates

    def clean(self):
        data = super().clean()
        if bool(data.get("badge")) == bool(data.get("plate")):
            raise forms.ValidationError(_("Give a badge number or a plate, not both."))
        return data


class DecisionFilterForm(forms.Form):
    gate = forms.CharField(label=_("Gate"), required=False)
    day = forms.DateField(
        label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    around = forms.TimeField(
        label=_("Around (±15 min)"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    refused_only = forms.BooleanField(label=_("Refused only"), required=False)


class BadgeForm(forms.Form):
    number = forms.CharField(label=_("Badge number"), max_length=40)
    kind = forms.ChoiceField(label=_("Kind"), choices=Badge.Kind.choices)
    valid_until = forms.DateField(
        label=_("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class PlateForm(forms.Form):
    number = forms.CharField(label=_("Vehicle plate"), max_length=20)
    country = forms.CharField(label=_("Country"), max_length=2, initial="BE")


class RightForm(forms.Form):
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=None)
    effect = forms.ChoiceField(label=_("Effect"), choices=AccessRight.Effect.choices)
    schedule = forms.ModelChoiceField(label=_("Schedule"), queryset=None, required=False)
    valid_from = forms.DateTimeField(
        label=_("Valid from"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    valid_until = forms.DateTimeField(
        label=_("Valid until"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args, zones, schedules, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones
        self.fields["schedule"].queryset = schedules


class BanForm(forms.Form):
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.CharField(label=_("Court decision or authority"), max_length=200)


class BadgeStateForm(forms.Form):
    badge = forms.CharField(max_length=40, widget=forms.HiddenInput)
    state = forms.ChoiceField(label=_("State"), choices=Badge.State.choices)


class IdentityForm(forms.Form):
    birth_date = forms.DateField(
        label=_("Birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    nationality = forms.CharField(
        label=_("Nationality"), max_length=2, required=False, help_text=_("e.g. BE")
    )
    national_number = forms.CharField(
        label=_("National register number"),
        max_length=20,
        required=False,
        help_text=_("11 digits, e.g. 85.07.30-033.28; the check digits are verified."),
    )
    oidc_subject = forms.CharField(
        label=_("itsme / OpenID subject"),
        max_length=255,
        required=False,
        help_text=_("Lets gates that verify identities with itsme recognise this person."),
    )
    photo = forms.FileField(
        label=_("Photo"),
        required=False,
        help_text=_("JPEG or PNG, at most 2 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
    )


class VerificationForm(forms.Form):
    category = forms.CharField(label=_("Critical-function category"), max_length=80)
    status = forms.ChoiceField(label=_("Status"), choices=Verification.Status.choices)
    decided_on = forms.DateField(
        label=_("Decided on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class ExtractForm(forms.Form):
    checked_on = forms.DateField(
        label=_("Checked on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    result = forms.ChoiceField(label=_("Result"), choices=CriminalRecordExtract.Result.choices)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class VisitForm(forms.Form):
    announcer = forms.ModelChoiceField(label=_("Announced by"), queryset=None)
    facility = forms.ModelChoiceField(label=_("Terminal"), queryset=None)
    zone = forms.ModelChoiceField(label=_("Zone visited"), queryset=None)
    vessel = forms.CharField(label=_("Vessel"), max_length=100, required=False)
    location = forms.CharField(label=_("Or location"), max_length=100, required=False)
    purpose = forms.CharField(label=_("Purpose"), max_length=200)
    starts_at = forms.DateTimeField(
        label=_("From"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label=_("Until"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, announcers, facilities, zones, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["announcer"].queryset = announcers
        self.fields["facility"].queryset = facilities
        self.fields["zone"].queryset = zones


class VisitorForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("Verification mode"), choices=[("", "—"), *Visitor.Mode.choices]
    )
    given_name = forms.CharField(label=_("Given name"), max_length=100)
    family_name = forms.CharField(label=_("Family name"), max_length=100)
    birth_date = forms.DateField(
        label=_("Birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    nationality = forms.CharField(label=_("Nationality"), max_length=2, required=False)
    company = forms.CharField(label=_("Company"), max_length=120, required=False)
    badge_number = forms.CharField(
        label=_("Badge number"), max_length=40, required=False, help_text=_("Badge holders")
    )
    national_number = forms.CharField(
        label=_("National register number"),
        max_length=20,
        required=False,
        help_text=_("Verified identity"),
    )
    plate = forms.CharField(label=_("Vehicle plate"), max_length=20, required=False)


VisitorFormSet = forms.formset_factory(VisitorForm, extra=3, max_num=50, validate_max=True)


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the rejection"), max_length=300)
