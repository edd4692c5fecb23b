"""The state field of the workflow models: django-fsm-2's ``FSMField``, recorded in migrations as a plain ``CharField``.

django-fsm-2 connects a ``class_prepared`` receiver (with no sender) for every ``FSMField`` it creates. Migrations
create new model classes, with new fields, for every project state they render, and the executor keeps those states
while it runs: on this project's migrations hundreds of receivers piled up, each called again for every model class
created after it — 31 million calls in one trip back and forth over the migrations (docs/decisions.md "Migrations
render the state fields as plain CharFields"). A historical model needs no transitions (a data migration sets the
column directly, which ``protected`` would even refuse), and the column is the same varchar either way.
"""

from __future__ import annotations

from django_fsm import FSMField


class StateField(FSMField):
    """``FSMField`` for the models; ``CharField`` for the migrations (same column, no transitions, no receiver)."""

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        kwargs.pop("protected", None)
        return name, "django.db.models.CharField", args, kwargs
