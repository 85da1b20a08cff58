"""Forms of the control room and the detection set-up pages: they check types and shapes; the
services check the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from port2port.reporting import forms as reporting_forms
from port2port.sharing.models import Distribution

from .models import AlarmState, Contact, EventKind, Rule, RuleKind

# Which of a rule's settings the engine reads for each kind (engine.py); the others stay as
# they are. Every kind has the common ones.
RULE_COMMON = ["name", "enabled", "priority", "procedure", "suppress_seconds", "escalate_seconds"]
RULE_KIND_FIELDS = {
    RuleKind.HOTLIST: [],
    RuleKind.GATE_NO_RIGHT: [],
    RuleKind.PERIMETER: ["zone", "schedule", "within_seconds", "raise_by"],
    RuleKind.DRONE: ["zone"],
    RuleKind.VESSEL_SILENT: ["minutes"],
    RuleKind.VESSEL_ZONE: ["zone"],
    RuleKind.GATE_REFUSALS: ["count", "minutes"],
    RuleKind.DEVICE_SILENT: [],
}
# A hotlist alarm's priority is the list's (engine.py): the rule has none to set.
RULE_WITHOUT_PRIORITY = frozenset({RuleKind.HOTLIST})
_DEFAULT_RULE = _(
    "A port without a rule of this kind still gets these alarms, with the default settings; "
    "a port whose rules of this kind are all switched off gets none."
)
# What the rule page says about a kind, above its settings.
RULE_KIND_NOTES = {
    RuleKind.HOTLIST: [
        _("The priority of a hotlist alarm is the priority of the list the plate is on."),
        _DEFAULT_RULE,
        _(
            "Lists kept by police, customs or a national body raise alarms even where the "
            "port's hotlist rules are switched off."
        ),
    ],
    RuleKind.DEVICE_SILENT: [_DEFAULT_RULE],
}


def _model_field(name: str, **overrides) -> forms.Field:
    """The form field of a Rule model field (label, help text, limits come from the model)."""
    return Rule._meta.get_field(name).formfield(**overrides)


class RuleForm(forms.Form):
    """The settings of one kind of rule (the kind is chosen before and never changes)."""

    def __init__(self, *args, kind: str, zones, schedules, procedures, **kwargs):
        super().__init__(*args, **kwargs)
        names = RULE_COMMON[:1] + RULE_KIND_FIELDS.get(kind, []) + RULE_COMMON[1:]
        if kind in RULE_WITHOUT_PRIORITY:
            names.remove("priority")
        self.notes = RULE_KIND_NOTES.get(kind, [])
        for name in names:
            if name == "zone":
                field = forms.ModelChoiceField(
                    label=_("Zone"),
                    queryset=zones,
                    required=False,
                    empty_label=_("the whole port"),
                    help_text=Rule._meta.get_field("zone").help_text,
                )
            elif name == "schedule":
                field = forms.ModelChoiceField(
                    label=_("Working hours"),
                    queryset=schedules,
                    required=False,
                    empty_label=_("none: always armed"),
                    help_text=Rule._meta.get_field("schedule").help_text,
                )
            elif name == "procedure":
                field = forms.ModelChoiceField(
                    label=_("Procedure"),
                    queryset=procedures,
                    required=False,
                    empty_label=_("none"),
                )
            else:
                field = _model_field(name)
            self.fields[name] = field
        self.fields["name"].label = _("Name")


class ContactForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=Contact.Channel.choices)
    level = forms.IntegerField(
        label=_("Escalation level"),
        min_value=0,
        max_value=9,
        initial=0,
        help_text=Contact._meta.get_field("level").help_text,
    )
    user = forms.ModelChoiceField(
        label=_("Person"),
        queryset=None,
        required=False,
        help_text=_("For e-mail and web push."),
    )
    url = forms.URLField(
        label=_("Webhook URL"), required=False, assume_scheme="https", help_text=_("For webhooks.")
    )

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users
        self.fields["user"].label_from_instance = lambda user: (
            f"{user.person} ({user.get_username()})" if user.person_id else user.get_username()
        )


class ProcedureForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    steps = forms.CharField(
        label=_("Steps"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("One step a line, in the order the operator follows them."),
    )


class HotlistForm(forms.Form):
    """A new list (`owners`: whom the user may keep it for), or a list's settings (no `owners`:
    a list stays with the organisation that keeps it)."""

    owner = forms.ModelChoiceField(label=_("Kept by"), queryset=None, empty_label=None)
    name = forms.CharField(label=_("Name"), max_length=100)
    priority = forms.IntegerField(
        label=_("Priority"),
        min_value=0,
        max_value=100,
        initial=50,
        help_text=_("0 is the most urgent, 100 the least."),
    )
    max_differences = forms.IntegerField(
        label=_("Allowed differences"),
        min_value=0,
        max_value=2,
        initial=0,
        help_text=_("Characters a read may differ in, beyond look-alikes such as 0/O and 8/B."),
    )
    port = forms.ModelChoiceField(
        label=_("Port"),
        queryset=None,
        required=False,
        empty_label=_("every port"),
        help_text=_("Empty: reads of every port's cameras are checked."),
    )
    valid_from = forms.DateField(
        label=_("Valid from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label=_("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, owners=None, ports, **kwargs):
        super().__init__(*args, **kwargs)
        if owners is None:
            del self.fields["owner"]
        else:
            self.fields["owner"].queryset = owners
        self.fields["port"].queryset = ports


class EntriesForm(forms.Form):
    entries = forms.CharField(
        label=_("Plates"),
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=_(
            "One plate a line: PLATE;reason;valid until (YYYY-MM-DD), e.g. 1ABC123;stolen;2026-12-31"
        ),
    )


class EntrySearchForm(forms.Form):
    q = forms.CharField(label=_("Plate"), required=False, max_length=20)


class FlightForm(forms.Form):
    operator = forms.CharField(label=_("Operator"), max_length=200)
    drone_id = forms.CharField(
        label=_("Drone serial"), max_length=100, required=False, help_text=_("Empty: any drone.")
    )
    zone = forms.ModelChoiceField(
        label=_("Zone"), queryset=None, required=False, empty_label=_("the whole port")
    )
    starts_at = forms.DateTimeField(
        label=_("From"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label=_("Until"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, zones, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones


# --- alarm handling ------------------------------------------------------------------------------


class StepForm(forms.Form):
    position = forms.IntegerField(min_value=1, max_value=1000, widget=forms.HiddenInput)
    done = forms.BooleanField(required=False)


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class CloseForm(forms.Form):
    report = forms.CharField(
        label=_("Incident report"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What happened and what was done; required to close the alarm."),
    )


class ShareForm(reporting_forms.ShareForm):
    """The sanitised incident to share (same choices as a report's: alarm_share names no
    recipients); an incident goes to the port community unless the sharer narrows it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["distribution"].initial = Distribution.PORT_COMMUNITY
        self.fields["body"].widget.attrs["rows"] = 8


# --- lists ---------------------------------------------------------------------------------------


class AlarmFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("Any")), *AlarmState.choices]
    )
    port = forms.ChoiceField(label=_("Port"), required=False)
    rule = forms.UUIDField(required=False, widget=forms.HiddenInput)
    hotlist = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, ports, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["port"].choices = [("", _("Any"))] + [(p.locode, p.name) for p in ports]


class EventFilterForm(forms.Form):
    plate = forms.CharField(label=_("Plate"), required=False, max_length=20)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any")), *EventKind.choices]
    )
    device = forms.CharField(label=_("Device code"), required=False, max_length=40)
