"""Schemathesis over every operation of the API schema (issue 7 part 4): no 5xx, every answer matches the schema.

The schema is the one ``/api/schema/`` serves (generated in-process at collection; ``test_schema_is_the_served_one``
checks the two agree). Each operation is one pytest item; each example is sent as one of several posts (token
auth) through the Django WSGI app, against a little seeded data: a product, a customer, a draft loan and an
active loan. Every example runs inside a savepoint that is rolled back, so each one sees the same seeded state
(deterministic, hence shrinkable) and nothing leaks into other tests.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from applications.models import Status
from loancenter.wsgi import application
from tests.factories import CustomerFactory, LoanFactory, ProductFactory

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

MAX_EXAMPLES = 15
# The posts the fuzzer speaks as (persona names of tests/conftest.py).
POSTS = ["mkt", "rev", "appr", "gen", "boss"]
# A path's {id}, when the example asks for a seeded object, by the first segment after /api/.
SEEDED_IDS = {"loans": ("draft", "active"), "customers": ("customer",), "products": ("product",)}


def _served_schema() -> dict:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated, renderer_context={}))


RAW_SCHEMA = _served_schema()
schema = schemathesis.openapi.from_dict(RAW_SCHEMA)
STATS: Counter = Counter()


@pytest.fixture
def seeded(staff, flow):
    """Tokens for each fuzzing post and the ids of the seeded objects (built once per operation)."""
    product = ProductFactory(code="consumer")
    customer = CustomerFactory(officer=staff.mkt)
    draft = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)
    active = flow.advance(LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt), to=Status.ACTIVE)
    tokens = {name: Token.objects.get_or_create(user=getattr(staff, name))[0].key for name in POSTS}
    ids = {"product": product.pk, "customer": customer.pk, "draft": draft.pk, "active": active.pk}
    return tokens, ids


@pytest.fixture
def wsgi_in_test_transaction():
    """Like django.test.Client: a request must not close the test's connection (and its open transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@schema.given(post=st.sampled_from(POSTS), pick=st.none() | st.integers(min_value=0, max_value=1))
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
def test_api(case, post, pick, seeded, wsgi_in_test_transaction):
    tokens, ids = seeded
    segment = case.path.removeprefix("/api/").split("/")[0]
    if pick is not None and case.path_parameters and "id" in case.path_parameters and segment in SEEDED_IDS:
        names = SEEDED_IDS[segment]
        case.path_parameters["id"] = ids[names[pick % len(names)]]
    with transaction.atomic():
        try:
            response = case.call(app=wsgi_in_test_transaction, headers={"Authorization": f"Token {tokens[post]}"})
            STATS[f"{case.method} {case.path}"] += 1
            STATS[f"status {response.status_code}"] += 1
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        finally:
            transaction.set_rollback(True)


def test_schema_is_the_served_one(staff, client):
    """The fuzzed schema is the one GET /api/schema/ serves, and it covers every API route."""
    client.force_login(staff.gen)
    served = client.get("/api/schema/", {"format": "json"})
    assert served.status_code == 200
    assert served.json()["paths"].keys() == RAW_SCHEMA["paths"].keys()
    operations = [m for item in RAW_SCHEMA["paths"].values() for m in item if m in {"get", "post", "put", "patch", "delete"}]
    assert len(operations) >= 60


def summary() -> str:
    ops = [k for k in STATS if not k.startswith("status ")]
    examples = sum(STATS[k] for k in ops)
    statuses = {k.split()[1]: v for k, v in STATS.items() if k.startswith("status ")}
    return f"schemathesis: {len(ops)} operations, {examples} examples, statuses {dict(sorted(statuses.items()))}"
