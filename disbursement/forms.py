"""Browser forms of the registration ledger (types and choices only; the rules live in the services)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from disbursement.selectors import disbursement_officers
from loancenter.lib.dates import today


class RegistrationApplyForm(forms.Form):
    registry = forms.CharField(label=_("Registry"), max_length=100)
    applied_on = forms.DateField(label=_("Applied on"), initial=today, widget=forms.DateInput(attrs={"type": "date"}))


class HandOverForm(forms.Form):
    to_user = forms.ModelChoiceField(label=_("Disbursement officer"), queryset=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = disbursement_officers()
