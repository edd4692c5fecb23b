"""Products through the API: every SPEC §9 field, amounts and rates as strings, who may change them."""

from __future__ import annotations

import pytest

from applications.models import Product
from loancenter.models import AuditEntry

SPEC_FIELDS = {
    "code", "name", "category", "min_amount", "max_amount", "min_term_months", "max_term_months",
    "repayment_methods", "min_rate", "max_rate", "secured", "max_ltv", "max_dti", "dual_investigation",
    "investigation_rate", "max_age_at_maturity", "penalty_markup", "required_documents",
}


def product_payload(**overrides) -> dict:
    return {
        "code": "house-2026", "name": "个人住房贷款(2026版)", "category": "housing", "min_amount": "100000.00",
        "max_amount": "3000000.00", "min_term_months": 12, "max_term_months": 360,
        "repayment_methods": ["equal_installment", "equal_principal"], "min_rate": "0.0310", "max_rate": "0.0490",
        "secured": True, "max_ltv": "0.70", "max_dti": "0.50", "dual_investigation": True,
        "investigation_rate": "1", "max_age_at_maturity": 70, "penalty_markup": "0.5",
        "required_documents": ["id_card", "income_proof", "purchase_contract"], **overrides,
    }


@pytest.mark.parametrize("who", ["gen", "boss"])
def test_general_and_manager_create_a_product_with_every_spec_field(api, staff, who):
    response = api(getattr(staff, who)).post("/api/products/", product_payload(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert SPEC_FIELDS <= set(body)
    assert body["min_amount"] == "100000.00" and body["max_amount"] == "3000000.00"
    assert body["min_rate"] == "0.031" and body["max_rate"] == "0.049"
    assert body["max_ltv"] == "0.7" and body["max_dti"] == "0.5"
    assert body["repayment_methods"] == ["equal_installment", "equal_principal"]
    assert body["required_documents"] == ["id_card", "income_proof", "purchase_contract"]
    product = Product.objects.get(code="house-2026")
    assert product.secured and product.dual_investigation and product.max_age_at_maturity == 70


@pytest.mark.parametrize("who", ["mkt", "inv", "rev", "appr", "arch"])
def test_other_posts_read_products_but_cannot_create_or_change_them(api, staff, product, who):
    client = api(getattr(staff, who))
    assert client.get("/api/products/").json()["count"] == 1
    assert client.get(f"/api/products/{product.pk}/").json()["code"] == product.code
    response = client.post("/api/products/", product_payload(), format="json")
    assert (response.status_code, response.json()["code"]) == (403, "post_required")
    response = client.patch(f"/api/products/{product.pk}/", {"max_amount": "1.00"}, format="json")
    assert response.status_code == 403
    assert Product.objects.count() == 1
    product.refresh_from_db()
    assert str(product.max_amount) == "500000.00"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"min_amount": "0"}, "min_amount"),
        ({"max_amount": "-1"}, "max_amount"),
        ({"max_amount": "100.001"}, "max_amount"),
        ({"max_amount": "50000.00"}, "max_amount"),  # below the minimum
        ({"category": "crypto"}, "category"),
        ({"repayment_methods": ["weekly"]}, "repayment_methods"),
        ({"repayment_methods": []}, "repayment_methods"),
        ({"required_documents": ["selfie"]}, "required_documents"),
        ({"investigation_rate": "1.5"}, "investigation_rate"),
        ({"max_ltv": None}, "max_ltv"),  # a secured product needs one
        ({"name": "贷" * 101}, "name"),
        ({"max_rate": "0.0200"}, "max_rate"),  # below the minimum
    ],
)
def test_bad_product_input_is_refused_and_writes_nothing(api, staff, overrides, field):
    response = api(staff.gen).post("/api/products/", product_payload(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Product.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="product").exists()


def test_manager_changes_a_product_and_the_change_is_audited(api, staff, product):
    response = api(staff.boss).patch(f"/api/products/{product.pk}/", {"max_amount": "800000.00"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["max_amount"] == "800000.00"
    product.refresh_from_db()
    assert str(product.max_amount) == "800000.00"
    entry = AuditEntry.objects.get(action="product_update")
    assert entry.payload["old"]["max_amount"] == "500000.00"
