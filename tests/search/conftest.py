from __future__ import annotations

import pytest

from tests.api.conftest import api  # noqa: F401  (the token client fixture)


@pytest.fixture
def login(client):
    """Log the test client in as a persona: ``login(staff.mkt)``."""

    def _login(user):
        client.force_login(user)
        return client

    return _login
