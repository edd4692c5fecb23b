from __future__ import annotations

import pytest
from django.conf import settings

from tests.api.conftest import api  # noqa: F401  (the API client fixture: ``api(user)``)


@pytest.fixture(autouse=True)
def _english_admin(client):
    # The admin's requests pick their language from the cookie; messages are asserted in English (the msgids).
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
