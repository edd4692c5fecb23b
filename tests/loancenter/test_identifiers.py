"""Rule 25: one normaliser for ID, phone, contract and certificate numbers, and ASCII-only validators."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from applications.models import Collateral, Customer
from loancenter.lib.idcard import validate_id_number, validate_phone
from loancenter.lib.identifiers import (
    CONTRACT_NO,
    ID_NUMBER,
    duplicates,
    normalise,
    normalise_certificate_no,
    normalise_contract_no,
    normalise_id_number,
    normalise_phone,
)
from tests.factories import CustomerFactory

VALID = "11010519491231002X"  # GB 11643's worked example
FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


@pytest.mark.parametrize("typed", [
    VALID,
    VALID.lower(),
    VALID.translate(FULL_WIDTH),
    VALID.lower().translate(FULL_WIDTH),
    VALID.translate(ARABIC_INDIC),
    VALID.translate(DEVANAGARI),
    " 110105 19491231 002x\n",
    "\u3000１１０１０５\u3000１９４９１２３１\u3000００２Ｘ",  # ideographic spaces
    "110105\u200b19491231002X\ufeff",  # zero-width space, BOM
])
def test_every_way_of_typing_an_id_number_gives_the_one_ascii_form(typed):
    assert normalise_id_number(typed) == VALID
    validate_id_number(normalise_id_number(typed))


@pytest.mark.parametrize("typed", ["13800138000", "１３８００１３８０００", "138 0013 8000", "138-0013-8000",
                                   "+86 138 0013 8000", "0086-13800138000", "８６１３８００１３８０００",
                                   "١٣٨٠٠١٣٨٠٠٠"])
def test_every_way_of_typing_a_mobile_number_gives_eleven_ascii_digits(typed):
    assert normalise_phone(typed) == "13800138000"
    validate_phone(normalise_phone(typed))


def test_a_country_prefix_is_only_dropped_in_front_of_a_mobile_number():
    assert normalise_phone("86123") == "86123"  # not a mobile number: left for the validator to refuse


@pytest.mark.parametrize(("typed", "normal"), [
    ("HT-2026-0001", "HT-2026-0001"),
    ("ht-2026-0001", "HT-2026-0001"),
    ("ＨＴ－２０２６－０００１", "HT-2026-0001"),
    ("HT–2026—0001", "HT-2026-0001"),  # en and em dashes
    ("\u3000HT 2026 0001 ", "HT20260001"),
])
def test_contract_numbers_lose_case_width_spaces_and_dash_variants(typed, normal):
    assert normalise_contract_no(typed) == normal


@pytest.mark.parametrize("typed", [
    "京(2025)东城区不动产权第0001号",
    "京（２０２５）东城区不动产权第０００１号",
    "京〔2025〕东城区 不动产权第 0001 号",
    "京【2025】东城区不动产权第0001号",
    "京[2025]东城区不动产权第0001号",
])
def test_certificate_numbers_agree_on_brackets_digits_and_spaces(typed):
    assert normalise_certificate_no(typed) == "京(2025)东城区不动产权第0001号"


@pytest.mark.parametrize("value", [VALID.translate(FULL_WIDTH), VALID.translate(ARABIC_INDIC), VALID.lower(),
                                   f" {VALID}", f"{VALID}\n"])
def test_the_id_validator_accepts_ascii_only(value):
    # A validator that matched any Unicode digit (``\d``) let a second spelling of one number through (finding 4).
    with pytest.raises(ValidationError):
        validate_id_number(value)


@pytest.mark.parametrize("value", ["１３８００１３８０００", "١٣٨٠٠١٣٨٠٠٠", "13800138000\n", " 13800138000"])
def test_the_phone_validator_accepts_ascii_only(value):
    with pytest.raises(ValidationError):
        validate_phone(value)


def test_none_stays_none_for_nullable_columns():
    assert normalise(None, CONTRACT_NO) is None


def test_duplicates_groups_rows_by_their_normal_form():
    rows = [(1, VALID), (2, VALID.translate(FULL_WIDTH)), (3, "110101198506150019"), (4, ""), (5, VALID.lower())]
    assert duplicates(rows, ID_NUMBER) == {VALID: [(1, VALID), (2, VALID.translate(FULL_WIDTH)), (5, VALID.lower())]}


def test_the_model_field_stores_and_looks_up_the_normal_form(staff):
    customer = CustomerFactory(officer=staff.mkt, id_number=VALID.lower().translate(FULL_WIDTH), phone="１３８ ００１３ ８０００")
    assert Customer.objects.filter(pk=customer.pk).values_list("id_number", "phone").get() == (VALID, "13800138000")
    assert Customer.objects.get(id_number=VALID.translate(ARABIC_INDIC)) == customer
    Customer.objects.filter(pk=customer.pk).update(phone="+86 139 0000 0000")
    assert Customer.objects.get(pk=customer.pk).phone == "13900000000"


def test_the_model_field_normalises_in_full_clean(staff, draft):
    collateral = Collateral(loan=draft, kind="property", description="东城区某小区", owner_name="张伟",
                            certificate_no="京（２０２５）东城区不动产权第０００１号", appraised_value=1, appraised_on="2026-01-01")
    collateral.full_clean(exclude=["loan"])
    assert collateral.certificate_no == "京(2025)东城区不动产权第0001号"
