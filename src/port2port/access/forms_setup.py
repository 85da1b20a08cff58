"""Forms of the pages that set up gate access: groups, schedules, CSV import, gate devices.

They check types and shapes; the services check the rules.
"""

from __future__ import annotations

import re
from datetime import date

from django import forms
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from . import csv_import
from .models import AccessGroup, AccessRight

MAX_IMPORT_BYTES = 5 * 1024 * 1024
DAY_CHOICES = [(str(day), WEEKDAYS[day]) for day in range(7)]  # Monday = 0, as in Schedule
_DATE_SEPARATORS = re.compile(r"[\s,;]+")

_DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class GroupForm(forms.Form):
    organisation = forms.ModelChoiceField(label=_("Organisation"), queryset=None)
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=AccessGroup.Kind.choices, initial=AccessGroup.Kind.STAFF
    )

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations


class GroupMemberForm(forms.Form):
    person = forms.ModelChoiceField(label=_("Person"), queryset=None)

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people


class GroupMemberRemoveForm(forms.Form):
    person = forms.ModelChoiceField(queryset=None, widget=forms.HiddenInput)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = members


class GroupRightForm(forms.Form):
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=None)
    effect = forms.ChoiceField(label=_("Effect"), choices=AccessRight.Effect.choices)
    schedule = forms.ModelChoiceField(label=_("Schedule"), queryset=None, required=False)
    valid_from = forms.DateTimeField(label=_("Valid from"), required=False, widget=_DATETIME_WIDGET)
    valid_until = forms.DateTimeField(
        label=_("Valid until"), required=False, widget=_DATETIME_WIDGET
    )

    def __init__(self, *args, zones, schedules, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones
        self.fields["schedule"].queryset = schedules


class ScheduleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    days = forms.MultipleChoiceField(
        label=_("Days"), choices=DAY_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    start = forms.TimeField(
        label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end = forms.TimeField(
        label=_("Until"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("00:00 means midnight at the end of the day."),
    )
    holidays = forms.CharField(
        label=_("Holidays"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Days on which the windows do not apply: dates as YYYY-MM-DD, separated by commas, "
            "spaces or new lines."
        ),
    )

    def clean_holidays(self) -> list[str]:
        days = []
        for value in _DATE_SEPARATORS.split(self.cleaned_data.get("holidays") or ""):
            if not value:
                continue
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise forms.ValidationError(
                    _("“%(value)s” is not a date (YYYY-MM-DD)."),
                    code="invalid_date",
                    params={"value": value[:40]},
                ) from None
            if day.isoformat() not in days:
                days.append(day.isoformat())
        return sorted(days)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None:
            data["start_text"] = start.strftime("%H:%M")
            data["end_text"] = "24:00" if end.hour == end.minute == 0 else end.strftime("%H:%M")
            if data["end_text"] <= data["start_text"]:
                self.add_error("end", _("The window must end after it starts."))
        return data

    def windows(self) -> list[dict]:
        """The weekly windows of the cleaned form, as Schedule.windows stores them."""
        data = self.cleaned_data
        return [
            {"day": int(day), "start": data["start_text"], "end": data["end_text"]}
            for day in sorted(data["days"], key=int)
        ]


def _kind_choices() -> list[tuple[str, str]]:
    labels = {
        "people": _("People"),
        "badges": _("Badges"),
        "bans": _("Port bans"),
        "verifications": _("Security verifications"),
        "extracts": _("Criminal-record extracts"),
        "rights": _("Access rights"),
    }
    return [(kind, labels.get(kind, kind)) for kind in csv_import.KINDS]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=_kind_choices)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, comma-separated, a header line with the column names; at most 5 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    dry_run = forms.BooleanField(
        label=_("Dry run: check every line, store nothing"), required=False, initial=True
    )

    def clean_file(self) -> str:
        """The file's text (the upload itself is not kept)."""
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB."), code="too_large")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                _("The file is not UTF-8 text; save it as “CSV UTF-8” and try again."),
                code="encoding",
            ) from None


class ImportConfirmForm(forms.Form):
    """A dry run's file posted again to store it: it is checked again, line by line."""

    kind = forms.ChoiceField(choices=_kind_choices, widget=forms.HiddenInput)
    text = forms.CharField(strip=False, widget=forms.HiddenInput)
    valid_only = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "confirm_%s")  # the upload form on the same page has id_kind
        super().__init__(*args, **kwargs)


class DeviceForm(forms.Form):
    gate = forms.ModelChoiceField(label=_("Gate"), queryset=None)
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Which controller this is, e.g. “turnstile 2, left lane”."),
    )

    def __init__(self, *args, gates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gate"].queryset = gates
