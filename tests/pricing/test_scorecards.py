"""Scorecard versions (SPEC §15, §16.30): a change is a new version filed by one person and approved by another; a
version a loan was rated on is read-only in the model, the admin and the API."""

from __future__ import annotations

import json

import pytest

from applications.models import ScorecardVersion, Status
from loancenter.lib.errors import Conflict
from loancenter.models import RefusedAttempt
from tests.api.conftest import drive


def _form_of(client, category="consumer"):
    page = client.get(f"/scorecards/new/?category={category}")
    assert page.status_code == 200
    return page.context["initial"]


@pytest.mark.sidedoor(rule="pricing", path="browser: a scorecard version filed and approved by the same person")
def test_a_new_version_is_filed_by_one_person_and_put_in_use_by_another(client, staff):
    client.force_login(staff.gen)
    initial = _form_of(client)
    factors = json.loads(initial["factors"])
    factors["residence"]["points"]["rent"] = 25
    response = client.post("/scorecards/new/", {**initial, "category": "consumer", "factors": json.dumps(factors),
                                                "note": "租房客户违约率低于预期"})
    new = ScorecardVersion.objects.get(category="consumer", number=2)
    assert response.status_code == 302 and new.status == "pending" and new.filed_by == staff.gen

    refused = client.post(f"/scorecards/{new.pk}/", {"action": "approve"})
    assert refused.status_code == 403
    new.refresh_from_db()
    assert new.status == "pending"
    assert RefusedAttempt.objects.filter(action="scorecard_approve", code="separation_of_duty").exists()

    client.force_login(staff.boss)
    assert client.post(f"/scorecards/{new.pk}/", {"action": "approve"}).status_code == 302
    new.refresh_from_db()
    assert (new.status, new.decided_by) == ("active", staff.boss)
    assert ScorecardVersion.objects.get(category="consumer", number=1).status == "retired"


def test_a_card_whose_points_fall_as_a_factor_improves_is_refused(client, staff):
    client.force_login(staff.boss)
    initial = _form_of(client)
    factors = json.loads(initial["factors"])
    factors["monthly_income"]["bands"][-1]["points"] = 0  # the richest would score least

    response = client.post("/scorecards/new/", {**initial, "category": "consumer", "factors": json.dumps(factors)})

    assert response.status_code == 400
    assert "points must not fall as the value grows" in response.context["error"]
    assert ScorecardVersion.objects.filter(category="consumer").count() == 1


def test_only_general_and_manager_keep_the_cards(client, staff):
    client.force_login(staff.appr)
    assert client.get("/scorecards/").status_code == 403
    assert client.post("/scorecards/new/", {"category": "consumer"}).status_code == 403


@pytest.mark.sidedoor(rule="pricing", path="service: saving a scorecard version a loan was rated on")
def test_a_version_a_loan_was_rated_on_is_read_only_in_the_model(staff, draft):
    loan = drive(staff, draft, Status.UNDER_REVIEW)
    version = loan.scorecard_version
    version.factors = {**version.factors, "age": {"bands": [{"from": 0, "points": 99}]}}

    with pytest.raises(Conflict) as refused:
        version.save()

    assert refused.value.code == "scorecard_read_only"
    with pytest.raises(Conflict):
        ScorecardVersion.objects.get(pk=version.pk).delete()


@pytest.mark.sidedoor(rule="pricing", path="admin: changing a scorecard version")
def test_the_admin_shows_a_filed_version_read_only_and_files_new_ones(client, staff):
    staff.boss.is_staff = True
    staff.boss.save()
    client.force_login(staff.boss)
    version = ScorecardVersion.objects.get(category="consumer", number=1)

    page = client.get(f"/admin/applications/scorecardversion/{version.pk}/change/")

    assert page.status_code == 200
    assert b'name="factors"' not in page.content  # read-only: shown, not editable
    before = version.factors
    client.post(f"/admin/applications/scorecardversion/{version.pk}/change/", {"factors": "{}", "note": "x"})
    version.refresh_from_db()
    assert version.factors == before


@pytest.mark.sidedoor(rule="pricing", path="api: PATCH or DELETE /api/scorecards/{id}/ and self-approval")
def test_the_api_files_new_versions_approves_by_another_and_never_edits_one(api, staff, draft):
    loan = drive(staff, draft, Status.UNDER_REVIEW)
    used = loan.scorecard_version
    listed = api(staff.gen).get("/api/scorecards/").json()
    assert {"id": used.pk, "in_use": True, "status": "active"}.items() <= next(
        v for v in listed if v["id"] == used.pk).items()

    for method in ("patch", "delete"):
        refused = getattr(api(staff.gen), method)(f"/api/scorecards/{used.pk}/", {"note": "x"}, format="json")
        assert refused.status_code == 409 and refused.json()["code"] == "scorecard_read_only"
    assert RefusedAttempt.objects.filter(action="scorecard_edit", code="scorecard_read_only").count() == 2

    filed = api(staff.gen).post("/api/scorecards/", {"category": "consumer", "base_points": used.base_points + 10,
                                                     "factors": used.factors, "cutoffs": used.cutoffs,
                                                     "note": "整体上调 10 分"}, format="json")
    assert filed.status_code == 201 and filed.json()["status"] == "pending"
    new_id = filed.json()["id"]
    own = api(staff.gen).post(f"/api/scorecards/{new_id}/approve/")
    assert own.status_code == 403 and own.json()["code"] == "separation_of_duty"
    assert api(staff.appr).post(f"/api/scorecards/{new_id}/approve/").status_code == 403  # not a card keeper
    approved = api(staff.boss).post(f"/api/scorecards/{new_id}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    used.refresh_from_db()
    assert used.status == "retired" and loan.scorecard_version_id == used.pk  # the loan keeps its version


@pytest.mark.parametrize("factors, cutoffs", [(True, {"A": 1}), ([1, 2], {"A": 1}), ("x", {"A": 1}), (7, [1])])
def test_the_api_refuses_factors_or_cutoffs_that_are_no_card_with_400_not_500(api, staff, factors, cutoffs):
    """Regression: POST /api/scorecards/ with ``"factors": true`` (schemathesis) was a 500 (``set(True)``)."""
    before = ScorecardVersion.objects.count()
    refused = api(staff.gen).post("/api/scorecards/", {"category": "consumer", "factors": factors, "cutoffs": cutoffs},
                                  format="json")
    assert refused.status_code == 400, refused.content
    assert refused.json()["code"] == "invalid_scorecard"
    assert ScorecardVersion.objects.count() == before
