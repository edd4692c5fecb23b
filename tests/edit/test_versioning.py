"""The compare-and-swap itself, and how a client's If-Match / version is read."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from applications.models import Product
from loancenter.lib import versioning

pytestmark = pytest.mark.django_db


def test_bump_is_a_compare_and_swap_even_without_a_lock(product):
    stale = Product.objects.get(pk=product.pk)
    fresh = Product.objects.get(pk=product.pk)
    assert versioning.bump(fresh) == 2
    with pytest.raises(versioning.StaleEdit) as refused:
        versioning.bump(stale)  # read version 1 before the other save: no row matches version = 1
    assert refused.value.code == "stale_edit" and refused.value.status == 409
    assert Product.objects.get(pk=product.pk).version == 2


def test_bump_with_the_version_the_person_saw(product):
    with pytest.raises(versioning.StaleEdit):
        versioning.bump(product, expected=7)
    assert versioning.bump(product, expected=1) == 2


@pytest.mark.parametrize(("header", "body", "expected"), [
    ("", None, None),
    ("*", None, None),
    ('"3"', None, 3),
    ('W/"3"', None, 3),
    ("3", None, 3),
    ('"abc"', None, -1),
    ('"2", "3"', None, 3),
    ("", {"version": "4"}, 4),
    ("", {"version": "x"}, -1),
    ('"4"', {"version": 4}, 4),
    ('"4"', {"version": 5}, -1),
])
def test_expected_version_from_if_match_and_body(header, body, expected):
    request = RequestFactory().patch("/", HTTP_IF_MATCH=header) if header else RequestFactory().patch("/")
    assert versioning.expected_version(request, body) == expected
