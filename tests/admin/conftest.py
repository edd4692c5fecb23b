import pytest
from django.conf import settings
from django.utils import translation


@pytest.fixture(autouse=True)
def _english(client):
    # Messages are asserted in English (the msgids); the default language is zh-hans, and the admin's
    # requests pick their language from the cookie.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield
