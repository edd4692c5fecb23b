"""The workflow models' state fields (``loancenter.lib.fsm.StateField``): protected in the application, plain
``CharField``s in the migrations (docs/decisions.md "Migrations render the state fields as plain CharFields")."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db.migrations.loader import MigrationLoader
from django.db.models import CharField
from django.db.models.signals import class_prepared
from django_fsm import FSMField

from loancenter.lib.fsm import StateField

STATE_FIELDS = [(model, field) for model in apps.get_models() for field in model._meta.concrete_fields
                if isinstance(field, FSMField)]


def test_every_workflow_has_its_state_field():
    assert {f"{model._meta.label}.{field.name}" for model, field in STATE_FIELDS} >= {
        "applications.Loan.status", "applications.CustomerMerge.status", "applications.LprPublication.status",
        "loancenter.StaffRequest.state", "loancenter.Handover.status", "archive.Lending.status",
        "postloan.WriteOff.status"}
    assert all(isinstance(field, StateField) and field.protected for _model, field in STATE_FIELDS)


@pytest.mark.parametrize("model, field", STATE_FIELDS, ids=lambda v: getattr(v, "__name__", getattr(v, "name", "")))
def test_a_state_changes_only_through_a_transition(model, field):
    instance = model()
    with pytest.raises(AttributeError, match="Direct .* modification is not allowed"):
        setattr(instance, field.name, "approved")


def test_the_migrations_models_are_plain_and_leave_no_receiver_behind():
    """Rendering the migrations' project state made django-fsm-2 connect one ``class_prepared`` receiver per state
    field, kept while the state lives and called for every model class made after it (a trip back and forth over the
    migrations piled up hundreds: minutes of a test worker)."""
    before = len(class_prepared.receivers)
    rendered = MigrationLoader(None, ignore_no_migrations=True).project_state().apps
    assert len(class_prepared.receivers) == before
    historical = rendered.get_model("applications", "Loan")._meta.get_field("status")
    assert type(historical) is CharField
    assert historical.max_length == apps.get_model("applications", "Loan")._meta.get_field("status").max_length
