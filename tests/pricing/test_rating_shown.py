"""The rating is shown to the reviewer and the approver beside the decision form, and printed on the approval form
(SPEC §15)."""

from __future__ import annotations

from applications.models import Status
from loancenter.transitions import perform
from tests.api.conftest import drive
from tests.conftest import payloads
from tests.disbursement.test_papers import pdf_text, squeezed


def test_the_reviewer_and_the_approver_see_the_rating_beside_the_decision_form(client, staff, draft):
    loan = drive(staff, draft, Status.UNDER_REVIEW)
    client.force_login(staff.rev)

    page = client.get(f"/loans/{loan.pk}/do/pass_review/").content.decode()

    assert f"<strong>{loan.rating}</strong> · score {loan.score}" in page
    reasons = page.split('data-testid="rating-reasons">')[1].split("</dd>")[0]
    assert len(loan.rating_reasons) >= 1 and reasons.count(" points") == len(loan.rating_reasons)
    assert 'name="override_reason"' in page
    loan_page = client.get(f"/loans/{loan.pk}/").content.decode()
    assert f'data-testid="loan-rating"><strong>{loan.rating}</strong> · score {loan.score}<' in loan_page

    perform("pass_review", loan_id=loan.pk, actor=staff.rev, data=payloads(staff, loan)["pass_review"])
    client.force_login(staff.appr)
    page = client.get(f"/loans/{loan.pk}/do/approve/").content.decode()
    assert f"<strong>{loan.rating}</strong> · score {loan.score}" in page


def test_the_approval_form_prints_the_rating_and_its_reasons(client, staff, draft):
    loan = drive(staff, draft, Status.APPROVED)
    client.force_login(staff.rev)

    text = squeezed(pdf_text(client.get(f"/loans/{loan.pk}/approval.pdf").content))

    assert f"Risk rating {loan.rating} · score {loan.score} · scorecard Consumer v1" in text
    assert "Factors that cost the most points" in text
