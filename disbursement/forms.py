"""Browser forms of the registration ledger and the ``register_collateral`` transition's input (types and choices
only; the rules live in the services)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

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


class RegisterCollateralInput(serializers.Serializer):
    registry = serializers.CharField(label=_("Registry"), max_length=100)
    registered_on = serializers.DateField(label=_("Registered on"))
    certificate_no = serializers.CharField(label=_("Certificate (他项权证) number"), max_length=60)
    applied_on = serializers.DateField(label=_("Applied on"), required=False, allow_null=True)
