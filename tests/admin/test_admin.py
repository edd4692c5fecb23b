from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from applications.models import Product, Status
from loancenter.lib.money import to_percent
from loancenter.models import AuditEntry, User
from loancenter.services import staff_request_approve


@pytest.fixture
def gen_client(client, staff):
    client.force_login(staff.gen)
    return client


def add_user(client, **overrides):
    data = {"username": "newclerk", "usable_password": "true", "password1": "long-enough-2026",
            "password2": "long-enough-2026", "first_name": "新人", "id_number": "", "approval_limit": "",
            "posts": ["mortgage_clerk"]}
    data.update(overrides)
    return client.post(reverse("admin:loancenter_user_add"), data)


def test_general_and_manager_use_the_admin_other_posts_do_not(client, staff):
    url = reverse("admin:index")
    for person in (staff.gen, staff.boss):
        client.force_login(person)
        assert client.get(url).status_code == 200
    for person in (staff.mkt, staff.appr, staff.outsider):
        client.force_login(person)
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_admin_refuses_mortgage_clerk_with_reviewer_and_writes_nothing(gen_client):
    audit_before = AuditEntry.objects.count()

    response = add_user(gen_client, posts=["mortgage_clerk", "reviewer"])

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "mortgage clerk post may not be held together with" in " ".join(errors["posts"])
    assert not User.objects.filter(username="newclerk").exists()
    assert AuditEntry.objects.count() == audit_before


def test_admin_refuses_adding_approver_to_an_existing_mortgage_clerk(gen_client, staff):
    url = reverse("admin:loancenter_user_change", args=[staff.clerk.pk])
    form = gen_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("password", "groups",
                                                                               "user_permissions", "last_login")}
    data.update(posts=["mortgage_clerk", "approver"], date_joined_0="2026-01-01", date_joined_1="09:00:00")

    response = gen_client.post(url, data)

    assert response.status_code == 200
    assert "posts" in response.context["adminform"].form.errors
    staff.clerk.forget_posts()
    assert staff.clerk.posts == {"mortgage_clerk"}


def test_admin_creates_staff_and_files_their_posts_and_limit_as_a_request(gen_client, staff):
    # Rule 30: the new account is created without powers; its posts and limit wait for another manager.
    response = add_user(gen_client, username="newappr", posts=["approver"], approval_limit="250000")

    assert response.status_code == 302
    user = User.objects.get(username="newappr")
    assert user.posts == frozenset() and user.approval_limit is None
    assert user.check_password("long-enough-2026")
    assert AuditEntry.objects.get(action="staff_create", object_id=str(user.pk)).payload["by"] == "gen"
    request = user.staff_requests.get()
    assert (request.state, request.add_posts, request.approval_limit) == ("pending", ["approver"], Decimal("250000.00"))

    staff_request_approve(request_id=request.pk, actor=staff.boss)

    user = User.objects.get(username="newappr")
    assert user.posts == {"approver"}
    assert user.approval_limit == Decimal("250000.00")
    entry = AuditEntry.objects.get(action="staff_posts", object_id=str(user.pk))
    assert entry.actor == staff.boss and entry.payload["new"] == ["approver"] and entry.payload["request"] == request.pk


def test_admin_cannot_change_a_loans_status(gen_client, flow, draft):
    loan = flow.advance(draft, Status.PENDING_APPROVAL)
    url = reverse("admin:applications_loan_change", args=[loan.pk])
    audit_before = loan.audit_entries.count()

    page = gen_client.get(url)
    assert page.status_code == 200
    assert b'name="status"' not in page.content  # shown, not editable

    response = gen_client.post(url, {"status": Status.APPROVED, "amount": "1.00"})

    assert response.status_code == 403
    loan.refresh_from_db()
    assert loan.status == Status.PENDING_APPROVAL
    assert loan.amount == Decimal("100000.00")
    assert loan.audit_entries.count() == audit_before
    assert gen_client.post(reverse("admin:applications_loan_add"), {}).status_code == 403
    assert gen_client.post(reverse("admin:applications_loan_delete", args=[loan.pk]), {"post": "yes"}).status_code == 403


def test_audit_trail_is_read_only_in_the_admin(gen_client, flow, draft):
    loan = flow.advance(draft, Status.SUBMITTED)
    entry = loan.audit_entries.get()

    assert gen_client.get(reverse("admin:loancenter_auditentry_changelist")).status_code == 200
    assert gen_client.post(reverse("admin:loancenter_auditentry_change", args=[entry.pk]),
                           {"action": "forged"}).status_code == 403
    assert gen_client.post(reverse("admin:loancenter_auditentry_delete", args=[entry.pk]),
                           {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.action == "submit"


def product_data(product: Product, **overrides) -> dict:
    data = {
        "code": product.code, "name": product.name, "category": product.category,
        "min_amount": product.min_amount, "max_amount": product.max_amount,
        "min_term_months": product.min_term_months, "max_term_months": product.max_term_months,
        "repayment_methods": product.repayment_methods, "min_rate": to_percent(product.min_rate),
        "max_rate": to_percent(product.max_rate), "max_ltv": to_percent(product.max_ltv) if product.max_ltv else "",
        "max_dti": to_percent(product.max_dti), "investigation_rate": to_percent(product.investigation_rate),
        "max_age_at_maturity": product.max_age_at_maturity, "penalty_markup": to_percent(product.penalty_markup),
        "required_documents": product.required_documents, "allowed_purposes": product.allowed_purposes,
        "appraisal_validity_days": product.appraisal_validity_days, "active": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_general_edits_a_product_in_the_admin_through_the_audited_service(gen_client, product, staff):
    url = reverse("admin:applications_product_change", args=[product.pk])

    response = gen_client.post(url, product_data(product, max_amount="800000.00"))

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.max_amount == Decimal("800000.00")
    entry = AuditEntry.objects.get(action="product_update", object_id=str(product.pk))
    assert entry.actor == staff.gen and entry.payload["new"]["max_amount"] == "800000.00"


def test_a_secured_product_without_max_ltv_is_a_form_error_not_a_crash(gen_client, product):
    url = reverse("admin:applications_product_change", args=[product.pk])

    response = gen_client.post(url, product_data(product, secured="on", max_ltv=""))

    assert response.status_code == 200
    assert "max_ltv" in response.context["adminform"].form.errors
    product.refresh_from_db()
    assert not product.secured
    assert not AuditEntry.objects.filter(action="product_update").exists()


def test_customer_numbers_stay_masked_in_the_admin(gen_client, customer):
    page = gen_client.get(reverse("admin:applications_customer_change", args=[customer.pk]))

    assert page.status_code == 200
    assert customer.id_number.encode() not in page.content
    assert customer.masked_id_number.encode() in page.content
    assert customer.phone.encode() not in page.content


def test_every_admin_list_and_page_opens_for_the_manager(client, staff, flow, draft):
    from django.contrib import admin

    flow.advance(draft, Status.APPROVED)
    client.force_login(staff.boss)
    ours = {"loancenter", "applications", "review", "disbursement", "postloan", "archive"}
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        if opts.app_label not in ours:
            continue
        listing = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert listing.status_code == 200, opts.label
        first = model_admin.get_queryset(listing.wsgi_request).first()
        if first is not None:
            page = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
            assert page.status_code == 200, opts.label


def test_the_admin_login_page_admits_the_general_post_but_not_marketing(client, staff):
    from tests.conftest import PASSWORD

    url = reverse("admin:login")
    refused = client.post(url, {"username": "mkt", "password": PASSWORD, "next": "/admin/"})
    assert refused.status_code == 200 and not refused.wsgi_request.user.is_authenticated

    admitted = client.post(url, {"username": "gen", "password": PASSWORD, "next": "/admin/"})
    assert admitted.status_code == 302 and admitted["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_general_adds_a_product_in_the_admin(gen_client, product, staff):
    data = product_data(product, code="auto-new", name="汽车贷款(新)", category="auto", secured="on", max_ltv="80")

    response = gen_client.post(reverse("admin:applications_product_add"), data)

    assert response.status_code == 302
    created = Product.objects.get(code="auto-new")
    assert created.secured and created.max_ltv == Decimal("0.8")
    assert AuditEntry.objects.get(action="product_create", object_id=str(created.pk)).actor == staff.gen
