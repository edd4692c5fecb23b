"""Rule 22 on every other edit form: load it as a person would, post back exactly what it rendered, nothing changes;
a save over someone else's newer save is refused with "…has changed since you opened it" and nothing is lost."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from applications import services
from applications.models import Customer, Product
from archive.models import RetentionPeriod
from loancenter.models import AuditEntry, User
from postloan.models import CollectionAgency
from tests.edit.support import refusals, snapshot
from tests.support.forms import post_back, rendered_form

pytestmark = pytest.mark.django_db

STALE = "has changed since you opened it"


# Customers: /customers/{id}/edit/ (new) and the warning-list form on the customer page


@pytest.mark.sidedoor(rule="22", path="browser: /customers/{id}/edit/ posted back unchanged")
def test_customer_form_posted_back_unchanged_changes_nothing(login, staff, customer):
    before = snapshot(customer)
    _form, response = post_back(login(staff.mkt), reverse("customer-edit", args=[customer.pk]), testid="customer-form")
    assert response.status_code == 302
    assert snapshot(customer) == before


def test_customer_form_changes_what_was_changed_with_old_and_new_in_the_audit(login, staff, customer):
    client = login(staff.mkt)
    url = reverse("customer-edit", args=[customer.pk])
    form = rendered_form(client.get(url).content, testid="customer-form")
    data = form.data
    data["employer"] = ["新单位"]
    assert client.post(url, data).status_code == 302
    customer.refresh_from_db()
    assert customer.employer == "新单位" and customer.version == 2
    entry = AuditEntry.objects.get(action="customer_update")
    assert entry.payload == {"old": {"employer": "某某科技有限公司"}, "new": {"employer": "新单位"}}


@pytest.mark.sidedoor(rule="22", path="browser: /customers/{id}/edit/ saved after another save")
def test_second_of_two_customer_edits_is_refused(login, staff, customer):
    client = login(staff.mkt)
    url = reverse("customer-edit", args=[customer.pk])
    first = rendered_form(client.get(url).content, testid="customer-form").data
    second = rendered_form(client.get(url).content, testid="customer-form").data
    first["address"] = ["上海市浦东新区"]
    assert client.post(url, first).status_code == 302
    before = snapshot(customer)
    second["employer"] = ["另一单位"]
    response = client.post(url, second)
    assert response.status_code == 409 and STALE in response.content.decode()
    assert snapshot(customer) == before and Customer.objects.get(pk=customer.pk).address == "上海市浦东新区"
    assert refusals() == [("customer_update", None)]


def test_warning_list_form_carries_the_version_it_showed(login, staff, customer):
    client = login(staff.boss)
    page = client.get(reverse("customer-detail", args=[customer.pk]))
    form = rendered_form(page.content, testid="warning-form")
    assert form["version"] == str(customer.version)
    services.customer_update(actor=staff.mkt, customer_id=customer.pk, data={"employer": "新单位"})
    before = snapshot(customer)
    response = client.post(form.action, form.data, follow=True)
    assert STALE in response.content.decode()
    assert snapshot(customer) == before and not Customer.objects.get(pk=customer.pk).on_warning_list


# Products: /products/{id}/edit/ and the admin change form


@pytest.mark.sidedoor(rule="22", path="browser: /products/{id}/edit/ posted back unchanged")
def test_product_form_posted_back_unchanged_changes_nothing(login, staff, product):
    before = snapshot(product)
    _form, response = post_back(login(staff.gen), reverse("product-edit", args=[product.pk]), testid="product-form")
    assert response.status_code == 302
    assert snapshot(product) == before  # no version bump, no product_update audit row


@pytest.mark.sidedoor(rule="22", path="browser: /products/{id}/edit/ saved after another save")
def test_second_of_two_product_edits_is_refused(login, staff, product):
    client = login(staff.gen)
    url = reverse("product-edit", args=[product.pk])
    first = rendered_form(client.get(url).content, testid="product-form").data
    second = rendered_form(client.get(url).content, testid="product-form").data
    first["max_amount"] = ["600000"]
    assert client.post(url, first).status_code == 302
    before = snapshot(product)
    second["name"] = ["改名"]
    response = client.post(url, second)
    assert response.status_code == 400 and STALE in response.content.decode()
    assert snapshot(product) == before and Product.objects.get(pk=product.pk).max_amount == Decimal("600000.00")
    assert refusals() == [("product_save", None)]


def test_product_edit_audits_only_what_changed(login, staff, product):
    client = login(staff.gen)
    url = reverse("product-edit", args=[product.pk])
    data = rendered_form(client.get(url).content, testid="product-form").data
    data["max_dti"] = ["55"]  # typed as a percentage (issue 15 part 5), kept as the fraction
    assert client.post(url, data).status_code == 302
    assert AuditEntry.objects.get(action="product_update").payload == {"old": {"max_dti": "0.5000"},
                                                                      "new": {"max_dti": "0.55"}}


@pytest.fixture
def admin_client(client, staff):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(staff.gen)
    return client


def admin_form(client, url, model: str):
    page = client.get(url)
    assert page.status_code == 200
    return rendered_form(page.content, form_id=f"{model}_form")


@pytest.mark.sidedoor(rule="22", path="admin: product change form posted back unchanged")
def test_admin_product_change_form_posted_back_unchanged_changes_nothing(admin_client, product):
    url = reverse("admin:applications_product_change", args=[product.pk])
    before = snapshot(product)
    form = admin_form(admin_client, url, "product")
    assert form["edit_version"] == str(product.version)
    assert admin_client.post(url, form.data).status_code == 302
    assert snapshot(product) == before


@pytest.mark.sidedoor(rule="22", path="admin: product change form saved after another save")
def test_admin_product_change_form_refuses_a_stale_save(admin_client, staff, product):
    url = reverse("admin:applications_product_change", args=[product.pk])
    data = admin_form(admin_client, url, "product").data
    services.product_save(actor=staff.boss, data={"name": "经理改的名"}, product_id=product.pk)
    before = snapshot(product)
    data["max_amount"] = ["400000.00"]
    response = admin_client.post(url, data, follow=True)
    assert STALE in response.content.decode()
    assert snapshot(product) == before and Product.objects.get(pk=product.pk).name == "经理改的名"
    assert refusals() == [("admin_product", None)]


def test_admin_retention_change_form_posted_back_unchanged_changes_nothing(admin_client, staff):
    from archive.services import retention_set

    row = retention_set(category="borrower", years=12, actor=staff.gen)
    url = reverse("admin:archive_retentionperiod_change", args=[row.pk])
    before = snapshot(row)
    assert admin_client.post(url, admin_form(admin_client, url, "retentionperiod").data).status_code == 302
    assert snapshot(row) == before and RetentionPeriod.objects.get(pk=row.pk).years == 12


def test_admin_staff_change_form_posted_back_unchanged_changes_nothing(admin_client, staff):
    url = reverse("admin:loancenter_user_change", args=[staff.rev.pk])
    before = snapshot(staff.rev)
    before_posts = set(User.objects.get(pk=staff.rev.pk).posts)
    assert admin_client.post(url, admin_form(admin_client, url, "user").data).status_code == 302
    assert snapshot(staff.rev) == before and set(User.objects.get(pk=staff.rev.pk).posts) == before_posts


def test_agency_whitelist_button_changes_only_active(login, staff):
    agency = CollectionAgency.objects.create(name="某催收公司", licence_no="L-1", phone="01012345678", active=True)
    client = login(staff.gen)
    page = client.get(reverse("collection-agencies"))
    form = rendered_form(page.content, has_field="agency_id")
    assert client.post(reverse("collection-agencies"), form.data).status_code == 302
    agency.refresh_from_db()
    assert (agency.name, agency.licence_no, agency.phone, agency.active) == ("某催收公司", "L-1", "01012345678", False)
    assert AuditEntry.objects.get(action="collection_agency_save").payload["new"] == {"active": False}
