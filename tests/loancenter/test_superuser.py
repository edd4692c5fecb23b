"""Superusers hold no post powers (SPEC §16.14). The flag lets its holder look around the admin, read-only; every
other page, endpoint and service asks for posts, as it would of anyone (docs/decisions.md, "Superusers")."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from applications.models import Loan, Status
from archive import services as archive_services
from archive.models import Lending
from loancenter.lib.dates import today
from loancenter.lib.errors import Forbidden
from loancenter.models import RefusedAttempt, User
from loancenter.services import staff_set_posts
from postloan import warnings
from postloan.models import WarningLevel
from tests.archive.conftest import item, tick
from tests.conftest import payloads


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", password="x-very-long-pass-1")


def api_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.mark.sidedoor(rule="auth", path="api: POST /api/loans/{id}/transitions/approve/")
def test_a_superuser_holding_another_post_cannot_approve(staff, flow, draft, root):
    staff_set_posts(user=root, posts={"archivist"}, actor=None)
    loan = flow.advance(draft, Status.PENDING_APPROVAL)
    before = Loan.objects.filter(pk=loan.pk).values().get()

    response = api_as(root).post(f"/api/loans/{loan.pk}/transitions/approve/", payloads(staff, loan)["approve"],
                                 format="json")

    assert response.status_code == 403
    assert Loan.objects.filter(pk=loan.pk).values().get() == before
    refusal = RefusedAttempt.objects.get(actor=root)
    assert (refusal.action, refusal.loan_id_ref) == ("approve", loan.pk)


@pytest.mark.sidedoor(rule="auth", path="api: POST /api/loans/{id}/transitions/withdraw/")
def test_a_superuser_without_posts_is_refused_by_the_api_like_any_account_without_a_post(staff, draft, root):
    client = api_as(root)
    for method, url in (("get", "/api/loans/"), ("get", f"/api/loans/{draft.pk}/"),
                        ("post", f"/api/loans/{draft.pk}/transitions/withdraw/")):
        response = getattr(client, method)(url, {"reason": "x"} if method == "post" else None, format="json")
        assert (response.status_code, response.json()["code"]) == (403, "post_required"), url
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_a_superuser_without_posts_sees_no_loan_in_the_pages(client, staff, draft, root):
    client.force_login(root)
    assert draft.application_no not in client.get(reverse("home")).content.decode()
    assert client.get(f"/loans/{draft.pk}/").status_code == 404
    assert client.get(f"/loans/{draft.pk}/do/withdraw/").status_code == 404


@pytest.mark.parametrize("name", ["dashboard", "pii-views", "report-loans", "warning-levels", "classification-report"])
def test_a_superuser_without_posts_does_not_get_the_managers_pages(client, root, name):
    client.force_login(root)
    assert client.get(reverse(name)).status_code == 403


@pytest.mark.sidedoor(rule="auth", path="browser: POST /reports/warnings/")
def test_a_superuser_without_the_manager_post_sets_no_warning_level(client, root):
    with pytest.raises(Forbidden):
        warnings.warning_level_set(actor=root, figure="npl_rate", threshold=Decimal("0.05"), direction="above")
    client.force_login(root)
    response = client.post(reverse("warning-levels"), {"figure": "npl_rate", "direction": "above", "threshold": "5"})
    assert response.status_code == 403
    assert not WarningLevel.objects.exists()


def test_a_superuser_without_the_manager_post_does_not_start_the_batch(client, root):
    from postloan.models import BatchRun

    client.force_login(root)
    assert client.post(reverse("batch-run-now")).status_code == 403
    assert not BatchRun.objects.exists()


@pytest.mark.sidedoor(rule="auth", path="service: archive.services.lending_request")
def test_a_superuser_without_posts_borrows_no_archive_file(staff, flow, draft, root):
    loan = flow.advance(draft, Status.ACTIVE)
    on_file = tick(staff, item(loan, "loan_application"))
    with pytest.raises(Forbidden):
        archive_services.lending_request(item_id=on_file.pk, actor=root, purpose="看看",
                                         due_on=today() + timedelta(days=3))
    assert not Lending.objects.exists()
    assert RefusedAttempt.objects.filter(actor=root, code="post_required").count() == 1


def test_a_superuser_without_posts_looks_around_the_admin_read_only(client, staff, root):
    client.force_login(root)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:loancenter_user_changelist")).status_code == 200
    change = client.get(reverse("admin:loancenter_user_change", args=[staff.rev.pk]))
    assert change.status_code == 200 and not change.context["has_change_permission"]
    assert client.get(reverse("admin:loancenter_user_add")).status_code == 403


@pytest.mark.sidedoor(rule="auth", path="admin: POST /admin/loancenter/user/add/")
def test_a_superuser_without_posts_adds_no_staff_in_the_admin(client, root):
    client.force_login(root)
    response = client.post(reverse("admin:loancenter_user_add"), {
        "username": "newappr", "usable_password": "true", "password1": "long-enough-2026",
        "password2": "long-enough-2026", "first_name": "新人", "id_number": "", "approval_limit": "99999999",
        "posts": ["approver"],
    })
    assert response.status_code == 403
    assert not User.objects.filter(username="newappr").exists()


@pytest.mark.sidedoor(rule="auth", path="admin: POST /admin/loancenter/user/{id}/change/")
def test_a_superuser_without_posts_changes_no_staff_posts_in_the_admin(client, staff, root):
    client.force_login(root)
    url = reverse("admin:loancenter_user_change", args=[staff.rev.pk])
    response = client.post(url, {"username": "rev", "first_name": "rev", "posts": ["reviewer", "approver"],
                                 "approval_limit": "999999999", "is_active": "on",
                                 "date_joined_0": "2026-01-01", "date_joined_1": "09:00:00"})
    assert response.status_code == 403
    rev = User.objects.get(pk=staff.rev.pk)
    assert rev.posts == {"reviewer"} and rev.approval_limit is None


@pytest.mark.sidedoor(rule="auth", path="admin: POST /admin/authtoken/tokenproxy/add/")
def test_a_superuser_cannot_mint_an_api_token_for_someone_else_in_the_admin(client, staff, root):
    """A token for the approver would carry the approver's powers to whoever holds it."""
    client.force_login(root)
    response = client.post("/admin/authtoken/tokenproxy/add/", {"user": staff.appr.pk})
    assert response.status_code == 404
    assert not Token.objects.filter(user=staff.appr).exists()
