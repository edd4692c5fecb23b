"""The OpenAPI schema and the self-hosted docs page."""

from __future__ import annotations

import re

from loancenter.transitions import REGISTRY


def test_schema_documents_every_transition_with_its_own_input(api, staff):
    response = api(staff.mkt).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for name in REGISTRY:
        operation = paths[f"/api/loans/{{id}}/transitions/{name}/"]["post"]
        assert set(operation["responses"]) >= {"200", "400", "403", "404", "409"}
    approve = paths["/api/loans/{id}/transitions/approve/"]["post"]["requestBody"]["content"]["application/json"]
    component = approve["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"amount", "term_months", "annual_rate", "repayment_method", "reason"} <= set(
        schema["components"]["schemas"][component]["properties"]
    )
    for path in ("/api/customers/", "/api/products/", "/api/loans/", "/api/loans/{id}/audit/", "/api/auth/token/"):
        assert path in paths


def test_docs_page_loads_no_asset_from_the_internet(api, staff):
    response = api(staff.mkt).get("/api/docs/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    external = [u for u in re.findall(r"""(?:src|href)=["']([^"']+)""", html) if re.match(r"(https?:)?//", u)]
    assert external == []
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html


def test_the_browsable_api_renders_for_a_logged_in_officer(api, staff, draft):
    client = api(staff.mkt)
    for path in ("/api/loans/", f"/api/loans/{draft.pk}/", f"/api/loans/{draft.pk}/audit/", "/api/customers/",
                 f"/api/customers/{draft.customer_id}/", "/api/products/", f"/api/products/{draft.product_id}/"):
        response = client.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, path
        assert response["Content-Type"].startswith("text/html"), path


def test_openapi_schema_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/api/loans/{id}/transitions/approve/" in target.read_text()
