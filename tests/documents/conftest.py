import pytest
from django.utils import translation

from tests.api.conftest import api  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield
