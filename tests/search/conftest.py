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


from tests.postloan.test_collections import loan, t1_case  # noqa: E402, F401  (an active loan's T1 collection case)
