"""The whole demo in one transaction: staff, products and customers, loans in every state before disbursement
(``demo.loans``), loans after disbursement with the nightly batch run for every day (``demo.post_loan``), the
archive's folders (``demo.archive``)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction

from applications.services import customer_set_warning, product_save
from demo.archive import seed_archive
from demo.loans import (
    PRODUCTS,
    SEED,
    DemoResult,
    create_customers,
    create_staff,
    originate_loans,
    travel,
    working_moment,
)
from demo.post_loan import seed_post_loan
from loancenter.lib.dates import today


@transaction.atomic
def load_demo(*, customers: int = 50) -> DemoResult:
    """Build the whole demo in one transaction: all of it or nothing."""
    rng = random.Random(SEED)
    setup_moment = working_moment(today() - timedelta(days=60), rng)
    result = DemoResult()
    with travel(setup_moment):
        staff = create_staff()
        products = {spec["code"]: product_save(actor=staff["gen1"], data=spec) for spec in PRODUCTS}
        people = create_customers(rng, [staff["mkt1"], staff["mkt2"]], customers)
        # One customer on the credit warning list (rule 2), placed there by the reviewer.
        customer_set_warning(actor=staff["rev1"], customer=people[-1], on_warning_list=True,
                             reason="人民银行征信系统显示当前有逾期未还贷款。")
    result.staff = list(staff.values())
    result.products = list(products.values())
    result.customers = people
    result.loans = originate_loans(rng, staff, products, people[:-1])
    # After disbursement: past loans repaid on time, late or not at all, graded by the real nightly batch.
    result.loans += seed_post_loan(rng=rng, staff=staff, products=products, customers=people[:-1])
    # The archive: folders with a realistic mix (complete, incomplete, files out, one overdue).
    seed_archive(rng)
    return result
