"""Forms of the triage pages: they check types and shapes; the services check the rules."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from port2port.sharing.models import Distribution, Tlp

from .models import Category, Report


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any")), *Report.Status.choices]
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("Any")), *Category.choices]
    )
    mine = forms.BooleanField(label=_("Assigned to me"), required=False)

    def __init__(self, *args, channels, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", _("Any"))] + [(c.slug, c.name) for c in channels]


class _UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.person} ({obj.get_username()})" if obj.person_id else obj.get_username()


class AssignForm(forms.Form):
    user = _UserChoiceField(
        label=_("Assign to"),
        queryset=None,
        required=False,
        empty_label=_("nobody"),
        help_text=_("Members of the report's team who triage reports."),
    )
    me = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = members


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Report.Status.choices)
    reason = forms.CharField(
        label=_("Reason for closing"),
        max_length=300,
        required=False,
        help_text=_("Required when you close the report."),
    )


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 4}))


class _TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        ports = ", ".join(p.locode for p in obj.ports.all())
        return f"{obj.name} ({ports})" if ports else obj.name


class ForwardForm(forms.Form):
    team = _TeamChoiceField(label=_("Team"), queryset=None)

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams


# TLP:RED, a circle and named people all need recipients that a report's sharing item does not
# name (report_share passes none): offering them would only lead to an error.
SHARE_TLPS = [(value, label) for value, label in Tlp.choices if value != Tlp.RED]
SHARE_DISTRIBUTIONS = [
    (value, label)
    for value, label in Distribution.choices
    if value not in {Distribution.CIRCLE, Distribution.NAMED}
]


class ShareForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 6}))
    tlp = forms.ChoiceField(label="TLP", choices=SHARE_TLPS, initial=Tlp.AMBER)
    distribution = forms.ChoiceField(
        label=_("Distribution"), choices=SHARE_DISTRIBUTIONS, initial=Distribution.ORGANISATION
    )


class _IndentedJSONField(forms.JSONField):
    """A JSON textarea people can read and edit: indented, non-ASCII kept as typed."""

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2, cls=self.encoder)


class ChannelForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    questionnaire = _IndentedJSONField(
        label=_("Questionnaire (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        help_text=_(
            'A list of questions: {"key", "type", "label": {"en": ...}, "required", '
            '"choices", "show_if"}; the platform\'s own questions come first anyway.'
        ),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages"), choices=settings.LANGUAGES, widget=forms.CheckboxSelectMultiple
    )
    retention_days = forms.IntegerField(label=_("Retention (days)"), min_value=7, max_value=3650)
    reports_per_minute = forms.IntegerField(
        label=_("Reports per minute, at most"),
        min_value=1,
        max_value=10000,
        help_text=_("A limit for the whole channel, never per address (terminals share one)."),
    )


class ChannelSettingsForm(ChannelForm):
    """What else a channel has: its team, ports, introduction and whether it takes reports."""

    team = forms.ModelChoiceField(label=_("Triage team"), queryset=None)
    ports = forms.ModelMultipleChoiceField(
        label=_("Ports"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None: every port."),
    )
    intro = _IndentedJSONField(
        label=_("Introduction per language (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )
    active = forms.BooleanField(label=_("Takes reports"), required=False, initial=True)

    def __init__(self, *args, teams, **kwargs):
        from port2port.core.models import Port

        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["ports"].queryset = Port.objects.order_by("name")


class NewChannelForm(ChannelSettingsForm):
    slug = forms.SlugField(
        label=_("Address"), max_length=60, help_text=_("The channel is at /report/<address>/.")
    )


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    organisation = forms.ModelChoiceField(label=_("Organisation"), queryset=None)
    ports = forms.ModelMultipleChoiceField(
        label=_("Ports"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, organisations, **kwargs):
        from port2port.core.models import Port

        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        self.fields["ports"].queryset = Port.objects.order_by("name")
