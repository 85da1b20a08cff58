"""Forms of the sharing pages: shapes and types; the services check the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from port2port.core.models import ClearanceLevel, Organisation, Port, User

from .models import TLP_MEANING, Distribution, Kind, Language, Subscription, Tlp, Topic, Urgency


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class TopicChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


def tlp_choices():
    return [(value, f"{label} — {TLP_MEANING[value]}") for value, label in Tlp.choices]


class ItemForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Markdown: **bold**, lists, links."),
    )
    language = forms.ChoiceField(label=_("Language of the text"), choices=Language.choices)
    topics = TopicChoiceField(
        label=_("Topics"),
        queryset=Topic.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    ports = forms.ModelMultipleChoiceField(
        label=_("Ports concerned"),
        queryset=Port.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices)
    tlp = forms.ChoiceField(
        label="TLP", choices=tlp_choices, widget=forms.RadioSelect, initial=Tlp.AMBER
    )
    distribution = forms.ChoiceField(
        label=_("Share with"), choices=Distribution.choices, initial=Distribution.ORGANISATION
    )
    circle = forms.ModelChoiceField(label=_("Circle"), queryset=None, required=False)
    recipients = forms.ModelMultipleChoiceField(
        label=_("Named people"),
        queryset=None,
        required=False,
        help_text=_("Required for TLP:RED and for “Named people”."),
    )
    min_clearance = forms.ChoiceField(label=_("Minimum clearance"), choices=ClearanceLevel.choices)
    files = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("PDF, images or plain text; at most 10 MB each."),
    )

    def __init__(self, *args, circles, people, with_files=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["circle"].queryset = circles
        self.fields["recipients"].queryset = people
        self.fields["recipients"].label_from_instance = lambda u: (
            f"{u.person or u.username} ({u.username})"
        )
        if not with_files:
            del self.fields["files"]


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class SightingForm(forms.Form):
    note = forms.CharField(label=_("What did you see? (optional)"), required=False, max_length=500)
    anonymous = forms.BooleanField(
        label=_("Do not show our organisation to the other ports"), required=False
    )


class WideningForm(forms.Form):
    message = forms.CharField(
        label=_("Why should it reach more people?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class AttachmentForm(forms.Form):
    files = MultipleFileField(label=_("Attachments"))


class CircleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class InviteForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organisation.objects.all(), required=False
    )
    user = forms.ModelChoiceField(
        label=_("Or a person (username)"),
        queryset=User.objects.filter(is_active=True),
        required=False,
        to_field_name="username",
        widget=forms.TextInput,
    )


class SubscriptionForm(forms.Form):
    topics = TopicChoiceField(
        label=_("Topics"),
        queryset=Topic.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    ports = forms.ModelMultipleChoiceField(
        label=_("Ports"),
        queryset=Port.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    circles = forms.ModelMultipleChoiceField(
        label=_("Circles"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    min_urgency = forms.ChoiceField(label=_("At least this urgent"), choices=Urgency.choices)
    email = forms.ChoiceField(label=_("E-mail"), choices=Subscription.Email.choices)

    def __init__(self, *args, circles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["circles"].queryset = circles


class ImportForm(forms.Form):
    FORMATS = [("stix", "STIX 2.1 bundle (JSON)"), ("misp", "MISP event (JSON)")]
    format = forms.ChoiceField(label=_("Format"), choices=FORMATS)
    file = forms.FileField(label=_("File"))
    tlp = forms.ChoiceField(
        label="TLP",
        choices=[("", _("As marked in the file (AMBER when unmarked)")), *Tlp.choices],
        required=False,
        help_text=_("A file's own marking is never loosened."),
    )
    distribution = forms.ChoiceField(
        label=_("Share with"), choices=Distribution.choices, initial=Distribution.PLATFORM
    )
    circle = forms.ModelChoiceField(label=_("Circle"), queryset=None, required=False)

    def __init__(self, *args, circles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["circle"].queryset = circles
