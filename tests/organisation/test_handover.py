"""岗位变动交接 (SPEC §13, §16.27): what a hand-over lists and moves, who approves it, and the work it protects."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from applications.models import Customer, Investigation, Loan, LoanHandover
from applications.services import loan_start_investigation, loan_submit
from archive.models import Lending
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError
from loancenter.models import AuditEntry, Handover, RefusedAttempt, User
from loancenter.services import staff_change, staff_set_posts
from postloan.models import CollectionCase
from tests.factories import CustomerFactory, LoanFactory, id_number_for


def api(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def book(staff, product, flow):
    """What ``mkt`` holds: two customers, a draft, an active loan in T1 collection, and a file borrowed."""
    first = CustomerFactory(officer=staff.mkt)
    second = CustomerFactory(officer=staff.mkt)
    draft = LoanFactory(customer=first, product=product, marketing_officer=staff.mkt)
    active = flow.advance(LoanFactory(customer=second, product=product, marketing_officer=staff.mkt), "active")
    case = CollectionCase.objects.create(loan=active, opened_on=today(), tier="T1", owner_post="marketing",
                                         owner=staff.mkt)
    return {"customers": [first, second], "draft": draft, "active": active, "case": case}


def _lend(staff, loan):
    """A file of ``loan`` borrowed by ``mkt`` (approved, not yet returned), made through the archive's model."""
    from archive.models import ChecklistItem

    item = ChecklistItem.objects.filter(loan_file__loan=loan).first()
    if item is None:
        return None
    return Lending.objects.create(item=item, loan=loan, requester=staff.mkt, purpose="核对合同",
                                  due_on=today() + timedelta(days=5), status=Lending.APPROVED)


def _new_customer() -> dict:
    return {"name": "新客户", "id_number": id_number_for(date(1990, 2, 3)), "phone": "13900000009",
            "monthly_income": "15000.00"}


def _ids(items, kind):
    return sorted(i["id"] for i in items if i["kind"] == kind)


def test_filing_lists_everything_the_giver_holds_and_approval_moves_it_all(staff, book):
    filed = api(staff.gen).post("/api/handovers/", {"from_user": "mkt", "to_user": "mkt2", "reason": "调岗"},
                                format="json")
    assert filed.status_code == 201, filed.content
    body = filed.json()
    assert body["status"] == "pending"
    assert _ids(body["items"], "customers") == sorted(c.pk for c in book["customers"])
    assert _ids(body["items"], "loans") == sorted([book["draft"].pk, book["active"].pk])
    assert _ids(body["items"], "collection_cases") == [book["case"].pk]

    # Before approval nothing moved, and nothing new is assigned to the giver.
    assert Loan.objects.get(pk=book["draft"].pk).marketing_officer == staff.mkt
    refused = api(staff.mkt).post("/api/customers/", _new_customer(), format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "handover_pending"

    approved = api(staff.boss).post(f"/api/handovers/{body['id']}/approve/", {}, format="json")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    assert approved.json()["difference"] == {"added": [], "removed": []}
    assert set(Customer.objects.filter(pk__in=[c.pk for c in book["customers"]])
               .values_list("officer__username", flat=True)) == {"mkt2"}
    assert set(Loan.objects.filter(pk__in=[book["draft"].pk, book["active"].pk])
               .values_list("marketing_officer__username", flat=True)) == {"mkt2"}
    assert CollectionCase.objects.get(pk=book["case"].pk).owner == staff.mkt2
    for loan in (book["draft"], book["active"]):
        entry = AuditEntry.objects.get(action="handover", loan=loan, payload__role="marketing")
        assert (entry.actor, entry.payload["from"], entry.payload["to"]) == (staff.boss, "mkt", "mkt2")
        assert LoanHandover.objects.filter(loan=loan, role="marketing", to_user=staff.mkt2).exists()
    assert AuditEntry.objects.filter(action="handover", loan=book["active"], payload__role="collection").exists()
    # The giver holds nothing now: the account can be closed.
    staff_change(actor=staff.gen, user=staff.mkt, is_active=False)
    assert not User.objects.get(pk=staff.mkt.pk).is_active


def test_the_receiver_finds_the_loans_and_the_giver_no_longer_sees_them(staff, book):
    handover = api(staff.gen).post("/api/handovers/", {"from_user": "mkt", "to_user": "mkt2", "reason": "调岗"},
                                   format="json").json()
    api(staff.boss).post(f"/api/handovers/{handover['id']}/approve/", {}, format="json")
    assert api(staff.mkt2).get(f"/api/loans/{book['draft'].pk}/").status_code == 200
    assert api(staff.mkt).get(f"/api/loans/{book['draft'].pk}/").status_code == 404


def test_the_list_is_computed_again_at_approval_and_the_difference_shown(staff, book, product):
    handover = api(staff.gen).post("/api/handovers/", {"from_user": "mkt", "to_user": "mkt2", "reason": "调岗"},
                                   format="json").json()
    # Between filing and approval the draft is withdrawn (no longer the giver's work) ...
    from applications.services import loan_withdraw

    loan_withdraw(loan_id=book["draft"].pk, actor=staff.mkt, reason="客户放弃")
    # ... and a loan the giver entered before filing was handed to them by someone (a case the batch opened).
    late = CollectionCase.objects.create(loan=LoanFactory(customer=book["customers"][0], product=product,
                                                          marketing_officer=staff.mkt2),
                                         opened_on=today(), tier="T1", owner_post="marketing", owner=staff.mkt)
    preview = api(staff.boss).get(f"/api/handovers/{handover['id']}/").json()
    assert [i["id"] for i in preview["difference"]["removed"]] == [book["draft"].pk]
    assert [i["id"] for i in preview["difference"]["added"]] == [late.pk]
    approved = api(staff.boss).post(f"/api/handovers/{handover['id']}/approve/", {}, format="json").json()
    assert [i["id"] for i in approved["difference"]["removed"]] == [book["draft"].pk]
    assert [i["id"] for i in approved["difference"]["added"]] == [late.pk]
    assert Loan.objects.get(pk=book["draft"].pk).marketing_officer == staff.mkt  # withdrawn: stays
    assert CollectionCase.objects.get(pk=late.pk).owner == staff.mkt2


@pytest.mark.parametrize("decider", ["gen", "mkt", "mkt2"])
def test_approval_is_by_a_manager_who_is_neither_the_filer_nor_a_party(staff, book, decider):
    handover = api(staff.gen).post("/api/handovers/", {"from_user": "mkt", "to_user": "mkt2", "reason": "调岗"},
                                   format="json").json()
    refused = api(getattr(staff, decider)).post(f"/api/handovers/{handover['id']}/approve/", {}, format="json")
    assert refused.status_code == 403
    assert Handover.objects.get(pk=handover["id"]).is_pending
    assert Loan.objects.get(pk=book["draft"].pk).marketing_officer == staff.mkt


def test_a_manager_who_files_does_not_approve_and_a_manager_party_neither(staff, book):
    from loancenter.services import staff_create

    boss2 = staff_create(username="boss2", posts=["manager"])
    handover = api(staff.boss).post("/api/handovers/", {"from_user": "mkt", "to_user": "mkt2", "reason": "调岗"},
                                    format="json").json()
    refused = api(staff.boss).post(f"/api/handovers/{handover['id']}/approve/", {}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "separation_of_duty"
    assert api(boss2).post(f"/api/handovers/{handover['id']}/approve/", {}, format="json").status_code == 200


def test_the_receiver_must_hold_the_post_the_work_needs(staff, book):
    refused = api(staff.gen).post("/api/handovers/", {"from_user": "mkt", "to_user": "rev", "reason": "调岗"},
                                  format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "receiver_post"
    assert not Handover.objects.exists()
    assert RefusedAttempt.objects.filter(action="handover_file", code="receiver_post").exists()


def test_a_marketing_officer_may_not_file_a_hand_over(staff, book):
    refused = api(staff.mkt).post("/api/handovers/", {"from_user": "mkt", "to_user": "mkt2", "reason": "调岗"},
                                  format="json")
    assert refused.status_code == 403
    assert not Handover.objects.exists()


def test_one_pending_hand_over_per_giver_and_the_giver_receives_nothing_meanwhile(staff, book):
    first = api(staff.gen).post("/api/handovers/", {"from_user": "mkt", "to_user": "mkt2", "reason": "调岗"},
                                format="json")
    assert first.status_code == 201
    again = api(staff.gen).post("/api/handovers/", {"from_user": "mkt", "to_user": "mkt2", "reason": "调岗"},
                                format="json")
    assert again.status_code == 409 and again.json()["code"] == "handover_pending"
    to_giver = api(staff.gen).post("/api/handovers/", {"from_user": "mkt2", "to_user": "mkt", "reason": "调岗"},
                                   format="json")
    assert to_giver.status_code == 409 and to_giver.json()["code"] == "handover_pending"


def test_an_investigator_handing_over_takes_no_new_investigation(staff, product):
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)
    loan_submit(loan_id=loan.pk, actor=staff.mkt)
    api(staff.gen).post("/api/handovers/", {"from_user": "inv", "to_user": "inv2", "reason": "离职"}, format="json")
    with pytest.raises(DomainError) as exc:
        loan_start_investigation(loan_id=loan.pk, actor=staff.inv)
    assert exc.value.code == "handover_pending"
    assert not Investigation.objects.filter(loan=loan).exists()


def test_rejecting_moves_nothing_and_needs_a_reason(staff, book):
    handover = api(staff.gen).post("/api/handovers/", {"from_user": "mkt", "to_user": "mkt2", "reason": "调岗"},
                                   format="json").json()
    no_reason = api(staff.boss).post(f"/api/handovers/{handover['id']}/reject/", {}, format="json")
    assert no_reason.status_code == 400 and no_reason.json()["code"] == "note_required"
    rejected = api(staff.boss).post(f"/api/handovers/{handover['id']}/reject/", {"note": "接收人不合适"},
                                    format="json")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert Loan.objects.get(pk=book["draft"].pk).marketing_officer == staff.mkt
    # Rejected: the giver takes work again.
    assert api(staff.mkt).post("/api/customers/", _new_customer(), format="json").status_code == 201


# --- open work keeps the account, the post and the unit (every path) ---------------------------------------------


@pytest.mark.sidedoor(rule="13-open-work", path="admin/service: staff_change deactivating the account")
def test_deactivating_an_officer_with_open_work_is_refused_naming_it(staff, book):
    with pytest.raises(DomainError) as exc:
        staff_change(actor=staff.gen, user=staff.mkt, is_active=False)
    assert exc.value.code == "open_work"
    assert "customers × 2" in exc.value.message and book["draft"].application_no in exc.value.message
    assert User.objects.get(pk=staff.mkt.pk).is_active


@pytest.mark.sidedoor(rule="13-open-work", path="service: staff_set_posts removing the marketing post")
def test_removing_the_marketing_post_with_open_work_is_refused(staff, book):
    with pytest.raises(DomainError) as exc:
        staff_set_posts(user=staff.mkt, posts=[], actor=staff.boss)
    assert exc.value.code == "open_work"
    assert User.objects.get(pk=staff.mkt.pk).posts == {"marketing"}


@pytest.mark.sidedoor(rule="13-open-work", path="admin: POST the staff change form (deactivate)")
def test_the_admin_staff_form_refuses_to_deactivate_an_officer_with_open_work(client, staff, book):
    client.force_login(staff.gen)
    url = f"/admin/loancenter/user/{staff.mkt.pk}/change/"
    form = client.get(url)
    assert form.status_code == 200
    data = {"username": "mkt", "first_name": "mkt", "last_name": "", "email": "", "id_number": "",
            "unit": staff.mkt.unit_id, "posts": ["marketing"], "approval_limit": "", "reason": "离职",
            "last_login_0": "", "last_login_1": "", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}
    response = client.post(url, data)  # is_active left out: unticked
    assert response.status_code == 200
    assert "still holds open work" in response.content.decode()
    assert User.objects.get(pk=staff.mkt.pk).is_active


@pytest.mark.sidedoor(rule="13-open-work", path="api: POST /api/staff-requests/{id}/approve/ (move to another unit)")
def test_moving_an_officer_with_open_work_to_another_unit_is_refused(staff, book):
    from loancenter.models import Unit

    Unit.objects.create(code="EAST", name="东区分中心")
    filed = api(staff.gen).post("/api/staff-requests/", {"user": "mkt", "unit": "EAST"}, format="json")
    assert filed.status_code == 201
    refused = api(staff.boss).post(f"/api/staff-requests/{filed.json()['id']}/approve/", {}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "open_work"
    assert User.objects.get(pk=staff.mkt.pk).unit_id == "CENTER"


# --- pages and the sheet ---------------------------------------------------------------------------------------


def test_the_hand_over_pages_file_show_and_approve(client, staff, book):
    client.force_login(staff.gen)
    page = client.get("/handovers/")
    assert page.status_code == 200 and 'data-testid="handover-form"' in page.content.decode()
    response = client.post("/handovers/", {"from_user": "mkt", "to_user": "mkt2", "reason": "调岗"})
    handover = Handover.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/handovers/{handover.pk}/"
    detail = client.get(f"/handovers/{handover.pk}/").content.decode()
    assert book["draft"].application_no in detail and 'data-testid="handover-approve"' not in detail  # the filer
    client.force_login(staff.boss)
    assert 'data-testid="handover-approve"' in client.get(f"/handovers/{handover.pk}/").content.decode()
    client.post(f"/handovers/{handover.pk}/approve/", {"note": ""})
    handover.refresh_from_db()
    assert handover.status == "approved"
    sheet = client.get(f"/handovers/{handover.pk}/sheet.pdf")
    assert sheet.status_code == 200 and sheet["Content-Type"] == "application/pdf"
    assert sheet.content.startswith(b"%PDF")


def test_the_sheet_names_both_parties_and_has_their_signature_lines(client, staff, book, tmp_path):
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed to read the sheet")
    handover = api(staff.gen).post("/api/handovers/", {"from_user": "mkt", "to_user": "mkt2", "reason": "调岗"},
                                   format="json").json()
    client.force_login(staff.boss)
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(client.get(f"/handovers/{handover['id']}/sheet.pdf").content)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Handed over by (signature)" in text and "Received by (signature)" in text
    assert "(mkt)" in text and "(mkt2)" in text and book["draft"].application_no in text


def test_a_marketing_officer_gets_the_403_page_for_hand_overs(client, staff):
    client.force_login(staff.mkt)
    assert client.get("/handovers/").status_code == 403


def test_the_giver_s_open_checks_and_signals_move_with_the_loans(staff, book):
    """SPEC §13: post-loan checks are on the hand-over's list (SPEC §12: their owner is the officer)."""
    from postloan.models import PostLoanCheck, Signal

    active = book["active"]
    check = PostLoanCheck.objects.filter(loan=active, owner=staff.mkt, status=PostLoanCheck.OPEN).first()
    if check is None:
        check = PostLoanCheck.objects.create(loan=active, kind=PostLoanCheck.ROUTINE, due_on=today() + timedelta(days=9),
                                             created_on=today(), owner_post="marketing", owner=staff.mkt)
    signal = Signal.objects.create(loan=active, code="job_loss", level="orange", source=Signal.MANUAL,
                                   raised_on=today(), raised_by=staff.mkt, owner_post="marketing", owner=staff.mkt,
                                   deadline=today() + timedelta(days=15))
    filed = api(staff.gen).post("/api/handovers/", {"from_user": "mkt", "to_user": "mkt2", "reason": "调岗"},
                                format="json").json()
    assert check.pk in _ids(filed["items"], "post_loan_checks")
    assert _ids(filed["items"], "warning_signals") == [signal.pk]
    # While the officer holds them, the account stays open.
    with pytest.raises(DomainError):
        staff_change(actor=staff.gen, user=staff.mkt, is_active=False)
    approved = api(staff.boss).post(f"/api/handovers/{filed['id']}/approve/", {}, format="json")
    assert approved.status_code == 200, approved.content
    assert PostLoanCheck.objects.get(pk=check.pk).owner == staff.mkt2
    assert Signal.objects.get(pk=signal.pk).owner == staff.mkt2
    assert AuditEntry.objects.filter(action="handover", loan=active, payload__role="post_loan_checks").exists()
