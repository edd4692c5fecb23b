"""The repayment schedule's rows drawn in Python (``{% schedule_rows %}``) print what the template loop printed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from postloan.models import Installment

# The loop postloan/repayment_schedule.html had before its rows moved to Python, kept here as the reference.
TEMPLATE_LOOP = """{% load i18n %}  {% for i in installments %}
    <tr data-installment="{{ i.number }}"{% if i.status == "overdue" %} class="overdue"{% endif %}>
      <td class="num">{{ i.number }}</td><td>{{ i.due_date|date:"Y-m-d" }}</td>
      <td class="num">{{ i.principal|floatformat:"2g" }}</td><td class="num">{{ i.interest|floatformat:"2g" }}</td>
      <td class="num">{{ i.scheduled|floatformat:"2g" }}</td>
      <td class="num">{{ i.paid_principal|floatformat:"2g" }}</td><td class="num">{{ i.paid_interest|floatformat:"2g" }}</td>
      <td class="num">{{ i.penalty|floatformat:"2g" }}</td><td class="num">{{ i.paid_penalty|floatformat:"2g" }}</td>
      <td><span class="badge {% if i.status == 'paid' %}badge-ok{% elif i.status == 'overdue' %}badge-missing{% elif i.status == 'partially_paid' %}badge-pending_approval{% endif %}" data-installment-status="{{ i.status }}">{{ i.get_status_display }}</span></td>
    </tr>
  {% endfor %}
"""
TAG = "{% load loans %}  {% schedule_rows installments %}\n"


def _installments() -> list[Installment]:
    rows = [
        # number, due, principal, interest, paid principal, paid interest, penalty, paid penalty, status
        (1, date(2026, 1, 15), "2791.67", "362.50", "2791.67", "362.50", "0.00", "0.00", Installment.PAID),
        (2, date(2026, 2, 15), "2801.79", "352.38", "1000.00", "352.38", "0.00", "0.00", Installment.PARTIAL),
        (3, date(2026, 3, 15), "2811.95", "342.22", "0.00", "0.00", "12.34", "0.00", Installment.OVERDUE),
        (12, date(2026, 12, 15), "1234567.89", "0.01", "0", "0.00", "0.005", "5", Installment.PENDING),
        (360, date(2056, 11, 15), "999.99", "1000.00", "0.00", "0.00", "1E+3", "-123456.00", Installment.PENDING),
    ]
    made = []
    for number, due, principal, interest, paid_principal, paid_interest, penalty, paid_penalty, status in rows:
        installment = Installment(
            number=number, due_date=due, principal=Decimal(principal), interest=Decimal(interest),
            paid_principal=Decimal(paid_principal), paid_interest=Decimal(paid_interest), penalty=Decimal(penalty),
            paid_penalty=Decimal(paid_penalty), status=status,
        )
        installment.scheduled = installment.principal + installment.interest
        made.append(installment)
    return made


@pytest.mark.parametrize("language", ["zh-hans", "en", "de"])
def test_the_rows_are_the_loops_rows(language):
    installments = _installments()
    with translation.override(language):
        expected = Template(TEMPLATE_LOOP).render(Context({"installments": installments}))
        drawn = Template(TAG).render(Context({"installments": installments}))
    assert drawn == expected
    assert drawn.count("<tr ") == 5 and 'class="overdue"' in drawn


def test_the_status_label_is_in_the_pages_language():
    installments = _installments()
    with translation.override("zh-hans"):
        chinese = Template(TAG).render(Context({"installments": installments}))
    with translation.override("en"):
        english = Template(TAG).render(Context({"installments": installments}))
    assert ">Overdue</span>" in english and ">逾期</span>" in chinese  # the label table is kept per language
