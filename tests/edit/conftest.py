from __future__ import annotations

import pytest


@pytest.fixture
def login(client):
    """Log the test client in as a persona: ``login(staff.mkt)``."""

    def _login(user):
        client.force_login(user)
        return client

    return _login
