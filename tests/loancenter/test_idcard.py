"""Resident ID numbers (GB 11643-1999), phones and masking."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core.exceptions import ValidationError

from applications.services import customer_create
from loancenter.lib.idcard import (
    check_character,
    mask_id_number,
    mask_phone,
    parse_id_number,
    validate_id_number,
    validate_phone,
)

# The standard's own worked example: Beijing Chaoyang, born 1949-12-31, sequence 002 (female), check character X.
VALID = "11010519491231002X"
VALID_MALE = "110101198506150019"  # sequence 001: odd → male; Σ(digit·weight) = 190, 190 mod 11 = 3 → "9"


def test_standard_example_is_valid_and_parsed():
    info = parse_id_number(VALID)
    assert info.birth_date == date(1949, 12, 31)
    assert info.gender == "F"


def test_check_character_follows_gb11643_weights():
    assert check_character(VALID[:17]) == "X"
    assert check_character(VALID_MALE[:17]) == "9"
    assert parse_id_number(VALID_MALE).gender == "M"


@pytest.mark.parametrize(
    "value, message",
    [
        ("110105194912310021", "check character"),  # right length, wrong check character
        ("110101198506150011", "check character"),
        ("110105199902300011", "impossible birth date"),  # 30 February
        ("110105199913010011", "impossible birth date"),  # month 13
        ("110105189912310011", "impossible birth date"),  # before 1900
        ("11010519491231002", "18 characters"),  # 17 characters
        ("11010519491231002X1", "18 characters"),  # 19 characters
        ("1101051949123100XX", "18 characters"),  # X anywhere but last
        ("", "18 characters"),
    ],
)
def test_invalid_id_numbers_are_refused_with_a_clear_message(value, message):
    with pytest.raises(ValidationError) as exc:
        validate_id_number(value)
    assert message in str(exc.value.messages[0])


def test_future_birth_date_is_impossible():
    with time_machine.travel(date(2030, 1, 1)):
        first17 = "11010520291231001"
        value = first17 + check_character(first17)
        validate_id_number(value)  # born yesterday: fine
    with time_machine.travel(date(2029, 1, 1)), pytest.raises(ValidationError):
        validate_id_number(value)


def test_lowercase_x_is_accepted_and_stored_upper_case(staff):
    customer = customer_create(actor=staff.mkt, data=_customer_data(id_number=VALID.lower()))
    customer.refresh_from_db()
    assert customer.id_number == VALID


def test_birth_date_gender_and_age_are_derived_from_the_id_number(staff):
    with time_machine.travel(date(2025, 6, 14)):
        customer = customer_create(actor=staff.mkt, data=_customer_data(id_number=VALID_MALE))
        customer.refresh_from_db()
        assert customer.birth_date == date(1985, 6, 15)
        assert customer.gender == "M"
        assert customer.age == 39  # the day before the 40th birthday
    with time_machine.travel(date(2025, 6, 15)):
        assert customer.age == 40


def test_invalid_id_number_on_customer_writes_nothing(staff):
    from applications.models import Customer

    with pytest.raises(ValidationError) as exc:
        customer_create(actor=staff.mkt, data=_customer_data(id_number="110105194912310021"))
    assert "id_number" in exc.value.message_dict
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("phone", ["13812345678", "19900000000", "15011112222"])
def test_valid_mobile_numbers_pass(phone):
    validate_phone(phone)


@pytest.mark.parametrize("phone", ["12812345678", "1381234567", "138123456789", "1381234567a", "02512345678", ""])
def test_invalid_phone_numbers_are_refused(phone):
    with pytest.raises(ValidationError) as exc:
        validate_phone(phone)
    assert "11-digit" in str(exc.value.messages[0])


def test_invalid_phone_on_customer_writes_nothing(staff):
    from applications.models import Customer

    with pytest.raises(ValidationError) as exc:
        customer_create(actor=staff.mkt, data=_customer_data(phone="12345"))
    assert "phone" in exc.value.message_dict
    assert Customer.objects.count() == 0


def test_masking_keeps_only_the_ends():
    assert mask_id_number(VALID) == "110***********002X"
    assert mask_phone("13812345678") == "138****5678"


def test_customer_exposes_masked_values(staff):
    customer = customer_create(actor=staff.mkt, data=_customer_data(id_number=VALID, phone="13812345678"))
    assert customer.masked_id_number == "110***********002X"
    assert customer.masked_phone == "138****5678"
    assert VALID[6:14] not in customer.masked_id_number  # the birth date is hidden


def _customer_data(**overrides) -> dict:
    data = {
        "name": "张伟", "id_number": VALID_MALE, "phone": "13812345678", "address": "北京市东城区",
        "employer": "某公司", "occupation": "工程师", "monthly_income": "20000.00", "monthly_debt_payment": "0.00",
        "civil_capacity": "full",
    }
    data.update(overrides)
    return data
