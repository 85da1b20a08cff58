"""Forms of the sites pages; geometry is GeoJSON text (drawn elsewhere, pasted here)."""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from port2port.core.models import Organisation

from .geojson import validate_geometry
from .models import AntiPassback, DeviceKind, GateKind


class GeometryField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false"})

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Geometry (GeoJSON)"))
        kwargs.setdefault(
            "help_text",
            _('For example {"type": "Point", "coordinates": [4.30, 51.28]} (longitude, latitude).'),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            return validate_geometry(json.loads(value))
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("This is not JSON: %(error)s") % {"error": exc.msg}
            ) from exc
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


class AreaForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=200)
    geometry = GeometryField()


class FacilityForm(AreaForm):
    operator = forms.ModelChoiceField(label=_("Operator"), queryset=Organisation.objects.all())
    area = forms.ModelChoiceField(label=_("Area"), queryset=None, required=False)

    def __init__(self, *args, areas, operators, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas
        self.fields["operator"].queryset = operators


class ZoneForm(AreaForm):
    facility = forms.ModelChoiceField(label=_("Port facility"), queryset=None, required=False)
    parent = forms.ModelChoiceField(label=_("Inside zone"), queryset=None, required=False)
    restricted = forms.BooleanField(label=_("Restricted area"), required=False)
    critical = forms.BooleanField(label=_("Critical-function zone"), required=False)

    def __init__(self, *args, facilities, zones, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = facilities
        self.fields["parent"].queryset = zones


class GateForm(AreaForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=GateKind.choices)
    facility = forms.ModelChoiceField(label=_("Port facility"), queryset=None, required=False)
    leads_into = forms.ModelMultipleChoiceField(
        label=_("Leads into"), queryset=None, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, facilities, zones, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = facilities
        self.fields["leads_into"].queryset = zones


class AntiPassbackForm(forms.Form):
    mode = forms.ChoiceField(label=_("Anti-passback"), choices=AntiPassback.choices)
    timeout_minutes = forms.IntegerField(
        label=_("Presence timeout (minutes)"), min_value=1, max_value=7 * 24 * 60
    )


class DeviceForm(AreaForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=DeviceKind.choices)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=Organisation.objects.all())
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=None, required=False)
    gate = forms.ModelChoiceField(label=_("Gate (ANPR camera)"), queryset=None, required=False)
    silent_after = forms.IntegerField(
        label=_("Silent after (minutes)"),
        min_value=0,
        max_value=7 * 24 * 60,
        initial=15,
        help_text=_("Raise an alarm when nothing came from the device for this long; 0: never."),
    )

    def __init__(self, *args, zones, gates, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones
        self.fields["gate"].queryset = gates
        self.fields["owner"].queryset = owners


class DeviceEditForm(DeviceForm):
    """`DeviceForm` without the code and kind: they name and type the device for good."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["code"]
        del self.fields["kind"]
