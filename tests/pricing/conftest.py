import pytest
from django.utils import translation

from tests.api.conftest import api  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def _english():
    # Messages are asserted in English (the msgids); the Chinese catalogue translates them for users.
    with translation.override("en"):
        yield
