"""The organisation's part of the demo (SPEC §13, issue 16): two sub-centers with staff of their own, an application
in each, and one completed hand-over. A function of its own, called by ``applications.demo.load_demo``, so it moves
with the demo seeding wherever that lives."""

from __future__ import annotations

import random
from decimal import Decimal

from applications.models import Product
from applications.services import ApplicationInput, loan_create
from demo.loans import DEMO_PASSWORD, create_customers
from loancenter import posts as P
from loancenter.handovers import handover_approve, handover_file
from loancenter.lib.dates import today
from loancenter.models import Handover, Unit, User
from loancenter.services import staff_create

UNITS = [("EAST", "东城个贷分中心", True), ("WEST", "西城个贷分中心", False)]
# username, full name, posts, approval limit, unit
STAFF = [
    ("e_mkt1", "高翔", [P.MARKETING], None, "EAST"),
    ("e_inv1", "罗敏", [P.INVESTIGATOR], None, "EAST"),
    ("e_rev1", "梁宇", [P.REVIEWER], None, "EAST"),
    ("e_appr1", "宋佳", [P.APPROVER], Decimal("200000.00"), "EAST"),
    ("e_clerk1", "唐磊", [P.MORTGAGE_CLERK], None, "EAST"),
    ("e_disb1", "韩雪", [P.DISBURSEMENT], None, "EAST"),
    ("e_boss1", "曹军", [P.MANAGER], None, "EAST"),
    ("w_mkt1", "许静", [P.MARKETING], None, "WEST"),
    ("w_inv1", "邓辉", [P.INVESTIGATOR], None, "WEST"),
    ("w_gen1", "彭丽", [P.GENERAL], None, "WEST"),
    # A center officer who moved to another post: their work went to mkt2 by the completed hand-over below.
    ("mkt3", "蒋涛", [P.MARKETING], None, "CENTER"),
]


def seed_organisation(*, rng: random.Random, staff: dict[str, User], products: dict[str, Product]) -> list[User]:
    """Sub-centers EAST (may disburse) and WEST with their staff, a draft application of each sub-center's officer,
    and ``mkt3``'s customers and application handed to ``mkt2`` (filed by ``gen1``, approved by ``boss1``)."""
    for code, name, may_disburse in UNITS:
        Unit.objects.get_or_create(code=code, defaults={"name": name, "may_disburse": may_disburse})
    people = {
        username: staff_create(username=username, full_name=name, posts=posts, approval_limit=limit,
                               password=DEMO_PASSWORD, unit=unit)
        for username, name, posts, limit, unit in STAFF
    }
    product = products["consumer"]
    for officer in ("e_mkt1", "w_mkt1", "mkt3"):
        for customer in create_customers(rng, [people[officer]], 2):
            loan_create(actor=people[officer], data=ApplicationInput(
                customer=customer, product=product, amount=Decimal("60000.00"), term_months=24,
                repayment_method="equal_installment", purpose="home_renovation", interviewed_on=today(),
                credit_authorised=True, guarantors=[], collaterals=[], documents=list(product.required_documents),
            ))
    handover = handover_file(actor=staff["gen1"], from_user=people["mkt3"], to_user=staff["mkt2"],
                             reason="调任个人消费信贷产品岗,客户与在办业务移交林芳")
    handover_approve(actor=staff["boss1"], handover_id=handover.pk, note="清单核对无误")
    assert Handover.objects.get(pk=handover.pk).status == Handover.Status.APPROVED
    return list(people.values())
