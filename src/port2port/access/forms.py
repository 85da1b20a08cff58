"""Forms of the gate access pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import AccessRight, Badge


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

    def __init__(self, *args, zones, schedules, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones
        self.fields["schedule"].queryset = schedules


class BanForm(forms.Form):
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.CharField(label=_("Court decision or authority"), max_length=200)
