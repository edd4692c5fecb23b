"""Fixtures shared by this folder's tests."""

from tests.api.conftest import api  # noqa: F401  (fixture: API clients with token authentication)
