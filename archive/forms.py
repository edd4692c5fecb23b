"""Forms of the archive pages: they parse input; the services decide."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from archive.models import Copy, Folder
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.lib.params import ReportDateField
from loancenter.models import User


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class StaffChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.display


def staff_with_post(*posts: str):
    qs = User.objects.filter(is_active=True)
    if posts:
        qs = qs.filter(groups__name__in=posts)
    else:
        qs = qs.filter(groups__isnull=False)
    return qs.distinct().order_by("username")


class ReceiveForm(forms.Form):
    copy_kind = forms.ChoiceField(label=_("Original or copy"), choices=Copy.choices, initial=Copy.ORIGINAL)
    pages = forms.IntegerField(label=_("Pages"), min_value=1, max_value=9999)
    received_on = forms.DateField(label=_("Received on"), widget=DateInput(), initial=today)
    location = forms.CharField(label=_("Vault location"), max_length=60, required=False)


class BulkReceiveForm(forms.Form):
    copy_kind = forms.ChoiceField(label=_("Original or copy"), choices=Copy.choices, initial=Copy.ORIGINAL)
    received_on = forms.DateField(label=_("Received on"), widget=DateInput(), required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class LocationForm(forms.Form):
    location = forms.CharField(label=_("Vault location"), max_length=60)


class LendingRequestForm(forms.Form):
    purpose = forms.CharField(label=_("Purpose"), max_length=200,
                              help_text=_("E.g. post-loan check, litigation, audit, credit review."))
    due_on = forms.DateField(label=_("Due back on"), widget=DateInput(), initial=lambda: today() + timedelta(days=7))


class InspectionForm(forms.Form):
    inspected_on = forms.DateField(label=_("Inspected on"), widget=DateInput(), initial=today)
    scope = forms.CharField(label=_("Scope"), max_length=200,
                            help_text=_("E.g. vault items, folders opened this quarter, fire and moisture protection."))
    folders_checked = forms.IntegerField(label=_("Folders checked"), min_value=0, max_value=1_000_000, initial=0)
    findings = forms.CharField(label=_("Findings"), widget=forms.Textarea(attrs={"rows": 3}))
    rectification = forms.CharField(label=_("Rectification required"), widget=forms.Textarea(attrs={"rows": 2}),
                                    required=False)


class HandoverForm(forms.Form):
    to_user = StaffChoice(label=_("Hand over to"), queryset=User.objects.none())
    handed_on = forms.DateField(label=_("Handed over on"), widget=DateInput(), initial=today)
    folders = forms.ModelMultipleChoiceField(
        label=_("Folders"), queryset=Folder.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: every folder you keep."),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = staff_with_post(P.ARCHIVIST).exclude(pk=user.pk)
        self.fields["folders"].queryset = Folder.objects.filter(keeper=user).select_related("customer")
        self.fields["folders"].label_from_instance = lambda f: f"{f.folder_no} {f.customer.name}"


class DestructionApproveForm(forms.Form):
    witness = StaffChoice(label=_("Witness"), queryset=User.objects.none())
    destroyed_on = forms.DateField(label=_("Destroyed on"), widget=DateInput(), initial=today)
    method = forms.CharField(label=_("Method"), max_length=60, required=False, initial=_("Shredded"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["witness"].queryset = staff_with_post()


class RangeForm(forms.Form):
    start = ReportDateField(label=_("From"), widget=DateInput())
    end = ReportDateField(label=_("To"), widget=DateInput())

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data

    def range(self):
        """The valid range, or the current month to date."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"]
        end = today()
        return end.replace(day=1), end
