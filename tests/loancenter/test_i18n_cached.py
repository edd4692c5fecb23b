"""{% load i18n %} is Django's library with constant messages remembered per language: it must print what Django prints."""

from __future__ import annotations

import pytest
from django.template import Context, Engine, engines
from django.utils import translation

SOURCE = (
    "{% load i18n %}"
    "[{% translate 'Loans' %}][{% trans \"My work queue\" %}][{% translate 'Loans' noop %}]"
    "[{% translate 'Log out' as out %}{{ out }}][{% translate message %}][{% translate 'Loans'|upper %}]"
    "[{% translate 'May' context 'month name' %}][{% translate 'R&D <b>' %}]"
    "{% autoescape off %}[{% translate 'R&D <b>' %}]{% endautoescape %}"
)


def django_own(context: dict) -> str:
    """The same template through an engine that has only Django's own i18n library."""
    return Engine(libraries={"i18n": "django.templatetags.i18n"}).from_string(SOURCE).render(Context(context))


@pytest.mark.parametrize("language", ["en", "zh-hans", "en", "zh-hans"])  # twice each: once drawn, once remembered
def test_translate_prints_what_djangos_tag_prints(language):
    ours = engines["django"].from_string(SOURCE)
    with translation.override(language):
        for message in ("Customers", "Products"):
            context = {"message": message}
            assert ours.render(context) == django_own(context)


def test_the_languages_do_not_mix():
    ours = engines["django"].from_string("{% load i18n %}{% translate 'Loans' %}")
    with translation.override("zh-hans"):
        chinese = ours.render({})
    with translation.override("en"):
        english = ours.render({})
    with translation.override("zh-hans"):
        again = ours.render({})
    assert english == "Loans"
    assert chinese == again and chinese != english and chinese.strip()
