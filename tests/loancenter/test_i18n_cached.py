"""{% load i18n i18n_cached %}: constant messages remembered per language must print what Django's tag prints."""

from __future__ import annotations

import pytest
from django.template import engines
from django.utils import translation

BODY = (
    "[{% translate 'Loans' %}][{% trans \"My work queue\" %}][{% translate 'Loans' noop %}]"
    "[{% translate 'Log out' as out %}{{ out }}][{% translate message %}][{% translate 'Loans'|upper %}]"
    "[{% translate 'May' context 'month name' %}][{% translate 'R&D <b>' %}]"
    "{% autoescape off %}[{% translate 'R&D <b>' %}]{% endautoescape %}"
)
OURS, DJANGOS = "{% load i18n i18n_cached %}" + BODY, "{% load i18n %}" + BODY


def django_own(context: dict) -> str:
    return engines["django"].from_string(DJANGOS).render(context)


@pytest.mark.parametrize("language", ["en", "zh-hans", "en", "zh-hans"])  # twice each: once drawn, once remembered
def test_translate_prints_what_djangos_tag_prints(language):
    ours = engines["django"].from_string(OURS)
    with translation.override(language):
        for message in ("Customers", "Products"):
            context = {"message": message}
            assert ours.render(context) == django_own(context)


def test_the_languages_do_not_mix():
    ours = engines["django"].from_string("{% load i18n i18n_cached %}{% translate 'Loans' %}")
    with translation.override("zh-hans"):
        chinese = ours.render({})
    with translation.override("en"):
        english = ours.render({})
    with translation.override("zh-hans"):
        again = ours.render({})
    assert english == "Loans"
    assert chinese == again and chinese != english and chinese.strip()
