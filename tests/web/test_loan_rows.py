"""The loan table's rows drawn in Python (applications/templatetags/loans.py) print what the template loop printed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from applications.models import Loan, Status
from applications.selectors import loan_values, with_age
from loancenter.models import User
from loancenter.views import QUEUE_COLUMNS, queue_rows
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
    nameless = User.objects.create_user(username="o'neil<mkt>")  # no full name: the username is shown
    odd = CustomerFactory(officer=staff.mkt, name='O\'Brien & "Sons" <b>')
    made = [
        LoanFactory(customer=odd, product=product, marketing_officer=staff.mkt, amount=Decimal("1234567.50")),
        LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt),
        LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt),
        LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=nameless),
    ]
    Loan.objects.filter(pk=made[0].pk).update(status_changed_at=now - timedelta(days=5, hours=3))
    Loan.objects.filter(pk=made[1].pk).update(status=Status.APPROVED, approved_amount=Decimal("80000"),
                                              proposed_amount=Decimal("90000"), application_no="A<1>")
    # No application number (the page shows "#id"), a proposed amount, noon: each printed its own way.
    Loan.objects.filter(pk=made[3].pk).update(application_no="", proposed_amount=Decimal("0.50"),
                                              status_changed_at=now.replace(hour=4, minute=0) - timedelta(days=1))
    return [loan.pk for loan in made]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("values", [False, True], ids=["loans", "the queue's values"])
def test_rows_print_what_the_template_loop_printed(loans, language, values):
    if values:
        rows = queue_rows(loan_values(sorted(loans), QUEUE_COLUMNS))
    else:
        rows = with_age(list(Loan.objects.filter(pk__in=loans).select_related(
            "customer", "product", "marketing_officer").order_by("id")))
    reference = with_age(list(Loan.objects.filter(pk__in=loans).order_by("id")), now=None)
    with translation.override(language):
        expected = Template(TEMPLATE_LOOP).render(Context({"loans": reference}))
        drawn = Template("{% load loans %}{% loan_rows loans %}").render(Context({"loans": rows}))
    assert rows[0].stale and "age-old" in drawn and "&amp; &quot;Sons&quot; &lt;b&gt;" in drawn and "A&lt;1&gt;" in drawn
    assert f">#{loans[3]}</a>" in drawn and "o&#x27;neil&lt;mkt&gt;" in drawn and ">0.50<" in drawn
    assert ("批准" in drawn) == (language == "zh-hans")  # the state's label in the page's language
    assert _squeeze(drawn) == _squeeze(expected)


def test_empty_table_says_so(db):
    html = Template('{% include "includes/loan_table.html" with loans=loans empty_text="nothing" %}').render(
        Context({"loans": []}))
    assert '<td colspan="7" class="empty">nothing</td>' in html and "data-loan" not in html


# Every format character, escapes and words: the table's own formatter prints what Django's date_format prints.
PATTERNS = ["N j, Y, P", "Y年n月j日 H:i", r"\Y\e\s: d.m.y G:i:s a A f g h", "D l F M b E S t L w W z o I O T Z e U u c r"]
MOMENTS = [(2026, 1, 1, 0, 0), (2026, 3, 5, 12, 0), (2026, 7, 14, 12, 30), (2026, 11, 23, 9, 5), (2024, 2, 29, 23, 59)]


@pytest.mark.parametrize("language", ["zh-hans", "en", "de"])
def test_datetime_formatter_prints_what_date_format_prints(language, monkeypatch):
    from django.utils.formats import date_format

    from applications.templatetags import loans as tags

    with translation.override(language):
        for pattern in PATTERNS:
            monkeypatch.setattr(tags, "get_format", lambda name, *args, p=pattern: p)
            formatter = tags.datetime_formatter()
            for moment in MOMENTS:
                local = timezone.make_aware(datetime(*moment))  # in the current time zone, as the table shows it
                assert formatter(local) == date_format(local, pattern), (pattern, moment)


@pytest.mark.parametrize("language", ["zh-hans", "en", "de", "hi"])  # hi groups by (3, 2, 0)
def test_amount_formatter_prints_what_floatformat_prints(language):
    from django.template.defaultfilters import floatformat

    from applications.templatetags.loans import amount_formatter

    values = [Decimal("0.00"), Decimal("0.01"), Decimal("999.99"), Decimal("1000.00"), Decimal("1234567.50"),
              Decimal("123456789012.99"), Decimal("5"), Decimal("1E+3"), Decimal("-1234.56"), Decimal("12.345"), 7]
    with translation.override(language):
        amount = amount_formatter()
        assert [amount(value) for value in values] == [floatformat(value, "2g") for value in values]
