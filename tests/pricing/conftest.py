import pytest
from django.utils import translation

from tests.api.conftest import api  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def _english():
    # Messages are asserted in English (the msgids); the Chinese catalogue translates them for users.
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def default_scorecards(db):
    """A test may start on a database an earlier transactional test flushed: the default cards the data migration
    installs are installed again, by the migration's own function (it adds only what is missing)."""
    from importlib import import_module

    from django.apps import apps

    import_module("applications.migrations.0023_default_scorecards").create(apps, None)
