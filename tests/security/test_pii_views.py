"""The manager sees who viewed which customer's full ID/phone number, when and where (SPEC §4, 客户隐私)."""

from __future__ import annotations

from django.urls import reverse

from loancenter.models import PiiView

URL = "/security/pii-views/"


def test_a_full_id_view_appears_on_the_managers_page(client, staff, customer):
    client.force_login(staff.mkt)
    client.get(reverse("customer-detail", args=[customer.pk]))  # the officer sees the full ID number: recorded
    client.get(reverse("api-customer-detail", args=[customer.pk]))
    assert PiiView.objects.filter(viewer=staff.mkt, customer=customer).count() == 2

    client.force_login(staff.boss)
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    rows = [r for r in body.split("<tr ")[1:] if 'data-viewer="mkt"' in r]
    assert len(rows) == 2
    assert all(f'data-customer="{customer.pk}"' in r and customer.name in r for r in rows)
    # the surface by its label (issue 15 part 4): "API", not the code "api"
    assert {"browser", "API"} == {s for s in ("browser", "API") for r in rows if f"<td>{s}</td>" in r}
    assert 'data-testid="nav-pii-views"' in body


def test_page_filters_by_staff_member_and_surface(client, staff, customer):
    PiiView.objects.create(viewer=staff.mkt, customer=customer, surface="browser")
    PiiView.objects.create(viewer=staff.rev, customer=customer, surface="api")
    client.force_login(staff.boss)
    body = client.get(URL, {"viewer": "rev"}).content.decode()
    assert 'data-viewer="rev"' in body and 'data-viewer="mkt"' not in body
    body = client.get(URL, {"surface": "browser"}).content.decode()
    assert 'data-viewer="mkt"' in body and 'data-viewer="rev"' not in body


def test_page_reads_in_constant_queries(client, staff, customer, django_assert_max_num_queries):
    for _ in range(30):
        PiiView.objects.create(viewer=staff.mkt, customer=customer, surface="browser")
    client.force_login(staff.boss)
    with django_assert_max_num_queries(8):
        assert client.get(URL).status_code == 200


def test_only_the_manager_sees_the_page(client, staff):
    for persona in (staff.mkt, staff.gen, staff.rev, staff.arch, staff.outsider):
        client.force_login(persona)
        assert client.get(URL).status_code == 403
        assert 'data-testid="nav-pii-views"' not in client.get("/").content.decode()
    client.logout()
    assert client.get(URL).status_code == 302
