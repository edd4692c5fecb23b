"""A caller's post and scope are checked before its input (SPEC §16.2; issue 13 finding 12): a wrong post gets 403
whatever it sends — an incomplete product from a marketing officer, garbage to any transition, an empty body to any
endpoint that takes input — and the refusal is recorded; nothing changes."""

from __future__ import annotations

import pytest

from applications.models import Product, Status
from loancenter import transitions
from loancenter.models import RefusedAttempt
from tests.api.conftest import snapshot

pytestmark = pytest.mark.django_db

GARBAGE = {"amount": "lots", "term_months": "forever", "value_date": "someday", "investigators": 7, "reason": ""}


@pytest.mark.sidedoor(rule="input", path="api: POST /api/products/ (marketing, incomplete)")
def test_a_marketing_officer_posting_an_incomplete_product_gets_403(api, staff):
    count = RefusedAttempt.objects.count()
    response = api(staff.mkt).post("/api/products/", {"code": "half"}, format="json")
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "post_required"
    assert not Product.objects.filter(code="half").exists()
    assert RefusedAttempt.objects.count() == count + 1
    assert RefusedAttempt.objects.order_by("-id").first().action == "product_save"


def test_the_right_post_with_an_incomplete_product_still_gets_its_field_errors(api, staff):
    response = api(staff.gen).post("/api/products/", {"code": "half"}, format="json")
    assert response.status_code == 400 and "name" in response.json()


@pytest.mark.parametrize("name", list(transitions.REGISTRY))
@pytest.mark.sidedoor(rule="input", path="api: POST /api/loans/{id}/transitions/{name}/ (wrong post, garbage)")
def test_every_transition_refuses_a_wrong_post_before_reading_its_input(api, staff, draft, name):
    """The archivist sees every loan and performs no transition."""
    before, count = snapshot(draft), RefusedAttempt.objects.count()
    response = api(staff.arch).post(f"/api/loans/{draft.pk}/transitions/{name}/", GARBAGE, format="json")
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "post_required"
    assert snapshot(draft) == before
    assert RefusedAttempt.objects.count() == count + 1
    refusal = RefusedAttempt.objects.order_by("-id").first()
    assert (refusal.action, refusal.loan_id_ref) == (name, draft.pk)


@pytest.fixture
def active(flow, draft):
    return flow.advance(draft, Status.ACTIVE)


ENDPOINTS = [
    ("post", "/api/loans/{loan}/repayments/"),
    ("post", "/api/loans/{loan}/write-offs/"),
    ("post", "/api/loans/{loan}/recoveries/"),
    ("post", "/api/loans/{loan}/grade-changes/"),
    ("post", "/api/loans/{loan}/servicing-requests/"),
    ("post", "/api/collection-agencies/"),
    ("post", "/api/customers/"),
    ("post", "/api/loans/"),
    ("patch", "/api/products/{product}/"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS, ids=[p for _m, p in ENDPOINTS])
@pytest.mark.sidedoor(rule="input", path="api: endpoints with input (wrong post, garbage)")
def test_every_endpoint_with_input_refuses_a_wrong_post_before_reading_it(api, staff, active, method, path):
    url = path.format(loan=active.pk, product=active.product_id)
    count = RefusedAttempt.objects.count()
    response = getattr(api(staff.arch), method)(url, GARBAGE, format="json")
    assert response.status_code == 403, (url, response.json())
    assert RefusedAttempt.objects.count() == count + 1


@pytest.mark.sidedoor(rule="input", path="browser: POST /loans/{id}/do/approve/ (wrong post, garbage)")
def test_the_transition_page_refuses_a_wrong_post_before_reading_the_form(client, staff, flow, draft):
    loan = flow.advance(draft, Status.PENDING_APPROVAL)
    before = snapshot(loan)
    client.force_login(staff.gen)
    response = client.post(f"/loans/{loan.pk}/do/approve/", {"amount": "lots", "annual_rate": "cheap"})
    assert response.status_code == 403
    assert snapshot(loan) == before
    refusal = RefusedAttempt.objects.order_by("-id").first()
    assert (refusal.action, refusal.loan_id_ref, refusal.code) == ("approve", loan.pk, "post_required")


@pytest.mark.sidedoor(rule="input", path="browser: POST /postloan/write-offs/{id}/review/ (wrong post, garbage)")
def test_a_post_loan_decision_form_refuses_a_wrong_post_before_reading_it(client, staff, active):
    from postloan.models import WriteOff
    from postloan.write_off import write_off_propose

    write_off = write_off_propose(loan_id=active.pk, actor=staff.gen, reason="借款人死亡,无遗产可供执行",
                                  legal_documents=["death_certificate"])
    client.force_login(staff.mkt)  # the loan's own marketing officer: in scope, not a reviewer
    response = client.post(f"/postloan/write-offs/{write_off.pk}/review/", {"note": "x" * 5000})
    assert response.status_code == 403
    write_off.refresh_from_db()
    assert write_off.status == WriteOff.PROPOSED
    refusal = RefusedAttempt.objects.order_by("-id").first()
    assert (refusal.action, refusal.loan_id_ref, refusal.code) == ("write_off_review", active.pk, "post_required")
