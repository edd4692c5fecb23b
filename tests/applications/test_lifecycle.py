"""The lifecycle is declared once, on Loan: the registry, the steps and the README's diagram are read from it."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from applications.management.commands import lifecycle_diagram
from applications.models import Loan
from applications.workflow import STEPS, declared_transitions
from loancenter.transitions import REGISTRY


def test_readme_diagram_matches_the_model():
    call_command("lifecycle_diagram", "--check")


def test_check_fails_when_the_readme_diagram_is_out_of_date(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    current = lifecycle_diagram.readme_path().read_text(encoding="utf-8")
    readme.write_text(current.replace("    active --> settled: settle\n", ""), encoding="utf-8")
    monkeypatch.setattr(lifecycle_diagram, "readme_path", lambda: readme)

    with pytest.raises(CommandError, match="out of date"):
        call_command("lifecycle_diagram", "--check")

    call_command("lifecycle_diagram")  # rewriting it brings the edge back
    assert "    active --> settled: settle\n" in readme.read_text(encoding="utf-8")
    call_command("lifecycle_diagram", "--check")


def test_every_declared_transition_is_registered_with_the_service_it_names():
    names = {t.name for t in declared_transitions()}
    assert set(REGISTRY) == set(STEPS) == names
    for name, entry in REGISTRY.items():
        custom = STEPS[name].custom
        assert f"{entry.service.__module__}.{entry.service.__name__}" == custom["service"]
        assert entry.input.__name__ == custom["input"]
        assert callable(getattr(Loan, name))

