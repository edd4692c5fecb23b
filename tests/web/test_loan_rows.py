"""The loan table's rows drawn in Python (applications/templatetags/loans.py) print what the template loop printed."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from applications.models import Loan, Status
from loancenter.views import QUEUE_COLUMNS, with_age
from tests.factories import CustomerFactory, LoanFactory

# The loop includes/loan_table.html had before the rows moved to Python, kept here as the reference.
TEMPLATE_LOOP = """{% load i18n humanize %}{% for loan in loans %}
      <tr data-loan="{{ loan.pk }}">
        <td><a href="{% url 'loan-detail' loan.pk %}">{{ loan }}</a></td>
        <td>{{ loan.customer.name }}</td>
        <td>{{ loan.product.name }}</td>
        <td class="num">{{ loan.effective_amount|floatformat:"2g" }}</td>
        <td>{% include "includes/status_badge.html" with status=loan.status label=loan.get_status_display %}</td>
        <td class="{% if loan.stale %}age-old{% endif %}" title="{{ loan.status_changed_at }}">
          {% blocktranslate trimmed with d=loan.waited_days h=loan.waited_hours %}{{ d }} d {{ h }} h{% endblocktranslate %}
        </td>
        <td>{{ loan.marketing_officer.display }}</td>
      </tr>{% endfor %}"""


def _squeeze(html: str) -> str:
    """Markup without the layout whitespace: none between tags, one space elsewhere."""
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", html)).strip()


@pytest.fixture
def loans(staff, product):
    now = timezone.now()
    odd = CustomerFactory(officer=staff.mkt, name='O\'Brien & "Sons" <b>')
    made = [
        LoanFactory(customer=odd, product=product, marketing_officer=staff.mkt, amount=Decimal("1234567.50")),
        LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt),
        LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt),
    ]
    Loan.objects.filter(pk=made[0].pk).update(status_changed_at=now - timedelta(days=5, hours=3))
    Loan.objects.filter(pk=made[1].pk).update(status=Status.APPROVED, approved_amount=Decimal("80000"),
                                              proposed_amount=Decimal("90000"), application_no="A<1>")
    return [loan.pk for loan in made]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("deferred", [False, True], ids=["full rows", "the queue's columns"])
def test_rows_print_what_the_template_loop_printed(loans, language, deferred):
    query = Loan.objects.filter(pk__in=loans).select_related("customer", "product", "marketing_officer").order_by("id")
    rows = with_age(list(query.only(*QUEUE_COLUMNS) if deferred else query))
    reference = with_age(list(Loan.objects.filter(pk__in=loans).order_by("id")), now=None)
    with translation.override(language):
        expected = Template(TEMPLATE_LOOP).render(Context({"loans": reference}))
        drawn = Template("{% load loans %}{% loan_rows loans %}").render(Context({"loans": rows}))
    assert rows[0].stale and "age-old" in drawn and "&amp; &quot;Sons&quot; &lt;b&gt;" in drawn and "A&lt;1&gt;" in drawn
    assert ("批准" in drawn) == (language == "zh-hans")  # the state's label in the page's language
    assert _squeeze(drawn) == _squeeze(expected)


def test_empty_table_says_so(db):
    html = Template('{% include "includes/loan_table.html" with loans=loans empty_text="nothing" %}').render(
        Context({"loans": []}))
    assert '<td colspan="7" class="empty">nothing</td>' in html and "data-loan" not in html
