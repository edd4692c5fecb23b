"""Demo data for ``seed_demo``: staff for every post, the four product categories, customers, and loans.

Every loan is moved through the real services (``loancenter.transitions.perform``), never by writing its
status, so the demo shows exactly what the rules allow, with a complete audit trail. A fixed random seed
makes the demo the same every time; each loan's history is placed in the recent past (working hours,
Monday–Friday) so work queues show realistic ages and the dashboard shows a late customer notification.

Later issues extend :func:`load_demo` with their own stages (contracts, disbursement, active loans).
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal

from django.utils import timezone

from applications.files.samples import demo_files
from applications.models import Customer, Loan, Product, Status
from applications.services import ApplicationInput, customer_create, loan_create
from loancenter import posts as P
from loancenter.lib.dates import add_months, add_working_days, age_on, today
from loancenter.lib.idcard import make_id_number
from loancenter.lib.money import first_installment
from loancenter.models import User
from loancenter.services import staff_create
from loancenter.transitions import perform
from review.services import decision_record_notification

DEMO_PASSWORD = "demo-pass-2026"
SEED = 20260101

# username, full name, posts, approval limit
STAFF = [
    ("mkt1", "陈晓明", [P.MARKETING], None),
    ("mkt2", "林芳", [P.MARKETING], None),
    ("inv1", "王建国", [P.INVESTIGATOR], None),
    ("inv2", "赵丽", [P.INVESTIGATOR], None),
    ("rev1", "孙伟", [P.REVIEWER], None),
    ("appr1", "周志强", [P.APPROVER], Decimal("300000.00")),
    ("branch1", "吴海燕", [P.BRANCH_APPROVER], Decimal("5000000.00")),
    ("clerk1", "郑强", [P.MORTGAGE_CLERK], None),
    ("disb1", "冯静", [P.DISBURSEMENT], None),
    ("arch1", "何秀英", [P.ARCHIVIST], None),
    ("gen1", "马超", [P.GENERAL], None),
    ("boss1", "刘建华", [P.MANAGER], None),
]
DEMO_USERNAMES = [row[0] for row in STAFF]

ALL_METHODS = ["equal_installment", "equal_principal", "interest_only", "bullet"]
PRODUCTS = [
    {
        "code": "consumer", "name": "个人消费贷款(消费贷)", "category": "consumer",
        "min_amount": Decimal("5000.00"), "max_amount": Decimal("500000.00"),
        "min_term_months": 6, "max_term_months": 60, "repayment_methods": ["equal_installment", "equal_principal"],
        "min_rate": Decimal("0.034500"), "max_rate": Decimal("0.120000"), "secured": False, "max_ltv": None,
        "max_dti": Decimal("0.5000"), "dual_investigation": False, "investigation_rate": Decimal("0.3000"),
        "max_age_at_maturity": 65, "penalty_markup": Decimal("0.5000"),
        "required_documents": ["id_card", "income_proof", "bank_statement", "credit_authorization"],
        "allowed_purposes": ["home_renovation", "education", "medical", "travel", "wedding", "durable_goods"],
    },
    {
        "code": "business", "name": "个人经营贷款(经营贷)", "category": "business",
        "min_amount": Decimal("10000.00"), "max_amount": Decimal("3000000.00"),
        "min_term_months": 6, "max_term_months": 120, "repayment_methods": ["equal_installment", "equal_principal", "interest_only"],
        "min_rate": Decimal("0.035000"), "max_rate": Decimal("0.120000"), "secured": False, "max_ltv": None,
        "max_dti": Decimal("0.6000"), "dual_investigation": True, "investigation_rate": Decimal("1.0000"),
        "max_age_at_maturity": 65, "penalty_markup": Decimal("0.5000"),
        "required_documents": ["id_card", "business_license", "tax_records", "bank_statement", "credit_authorization"],
        "allowed_purposes": ["business_operation", "equipment"],
    },
    {
        "code": "housing", "name": "个人住房贷款(住房贷)", "category": "housing",
        "min_amount": Decimal("100000.00"), "max_amount": Decimal("5000000.00"),
        "min_term_months": 12, "max_term_months": 360, "repayment_methods": ["equal_installment", "equal_principal"],
        "min_rate": Decimal("0.030000"), "max_rate": Decimal("0.060000"), "secured": True, "max_ltv": Decimal("0.7000"),
        "max_dti": Decimal("0.5500"), "dual_investigation": False, "investigation_rate": Decimal("0.5000"),
        "max_age_at_maturity": 70, "penalty_markup": Decimal("0.5000"),
        "required_documents": ["id_card", "marriage_certificate", "income_proof", "purchase_contract",
                               "property_certificate", "appraisal_report", "credit_authorization"],
        "allowed_purposes": ["house_purchase"], "appraisal_validity_days": 180,
    },
    {
        "code": "auto", "name": "个人汽车贷款(汽车贷)", "category": "auto",
        "min_amount": Decimal("20000.00"), "max_amount": Decimal("1000000.00"),
        "min_term_months": 12, "max_term_months": 60, "repayment_methods": ["equal_installment", "equal_principal"],
        "min_rate": Decimal("0.035000"), "max_rate": Decimal("0.090000"), "secured": True, "max_ltv": Decimal("0.8000"),
        "max_dti": Decimal("0.5000"), "dual_investigation": False, "investigation_rate": Decimal("0.2000"),
        "max_age_at_maturity": 65, "penalty_markup": Decimal("0.5000"),
        "required_documents": ["id_card", "income_proof", "vehicle_invoice", "credit_authorization"],
        "allowed_purposes": ["car_purchase"], "appraisal_validity_days": 90,
    },
]
RATES = {"consumer": Decimal("0.0435"), "business": Decimal("0.0480"), "housing": Decimal("0.0390"),
         "auto": Decimal("0.0450")}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈"
MALE_NAMES = ["伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "刚", "建华", "志强", "晓东", "文博",
              "浩然", "思远", "俊杰", "国庆", "建国", "宇航", "子轩", "海波", "立新"]
FEMALE_NAMES = ["芳", "娜", "秀英", "敏", "静", "丽", "艳", "娟", "秀兰", "霞", "桂英", "海燕", "子涵", "雨欣",
                "嘉怡", "婷婷", "晓红", "丽华", "欣怡", "佳琪", "慧敏", "玉兰"]
# Birthplace codes (GB/T 2260) of the ID numbers: mostly Hangzhou, some from elsewhere.
REGIONS = ["330106", "330102", "330105", "330108", "330110", "330182", "320102", "310104", "340104", "360102",
           "410105", "420106", "510104"]
DISTRICTS = {"西湖区": ["文三路", "天目山路", "古墩路", "学院路"], "上城区": ["解放路", "望江路", "庆春路"],
             "拱墅区": ["莫干山路", "湖墅南路", "丽水路"], "滨江区": ["江南大道", "滨盛路", "江虹路"],
             "余杭区": ["文一西路", "五常大道", "良睦路"]}
JOBS = [
    ("杭州恒远科技有限公司", "软件工程师"), ("浙江瑞丰贸易有限公司", "销售经理"), ("杭州市第十四中学", "教师"),
    ("浙江省人民医院", "医生"), ("杭州明德会计师事务所", "会计师"), ("浙江华信建设集团有限公司", "项目经理"),
    ("杭州市西湖区人民政府", "公务员"), ("杭州地铁集团有限公司", "工程师"), ("浙江天禾律师事务所", "律师"),
    ("杭州银泰百货有限公司", "店长"), ("个体工商户", "餐饮店经营者"), ("个体工商户", "服装店经营者"),
    ("杭州鸿运物流有限公司", "车队长"), ("浙江新锐电子有限公司", "技术员"),
]


@dataclass
class DemoResult:
    staff: list[User] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    loans: list[Loan] = field(default_factory=list)

    @property
    def status_counts(self) -> Counter:
        return Counter(Loan.objects.filter(pk__in=[loan.pk for loan in self.loans]).values_list("status", flat=True))


def demo_present() -> bool:
    return (
        User.objects.filter(username__in=DEMO_USERNAMES).exists()
        or Product.objects.filter(code__in=[p["code"] for p in PRODUCTS]).exists()
    )


# ---------------------------------------------------------------------------------------------------------------
# Time: each step of a loan's history happens at a moment in the recent past.


def travel(moment: datetime | None):
    if moment is None:
        return contextlib.nullcontext()
    try:
        import time_machine
    except ImportError:  # without it the demo is simply dated today
        return contextlib.nullcontext()
    return time_machine.travel(moment, tick=True)


def working_moment(day: date, rng: random.Random) -> datetime:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    clock = time(hour=rng.randint(9, 16), minute=rng.randint(0, 59))
    return timezone.make_aware(datetime.combine(day, clock))


def _timeline(rng: random.Random, steps: int, *, last_days_ago: int) -> list[datetime]:
    """``steps`` moments, oldest first, the last ``last_days_ago`` days before today, 1–3 days apart."""
    days = [last_days_ago]
    for _ in range(steps - 1):
        days.append(days[-1] + rng.randint(1, 3))
    base = today()
    moments: list[datetime] = []
    for d in reversed(days):
        moment = working_moment(base - timedelta(days=d), rng)
        if moments and moment <= moments[-1]:  # two steps moved onto the same Friday keep their order
            moment = moments[-1] + timedelta(minutes=30)
        moments.append(moment)
    latest = timezone.now() - timedelta(minutes=5)  # never in the future, whatever the hour now
    for i in range(len(moments) - 1, -1, -1):
        moments[i] = min(moments[i], latest)
        latest = moments[i] - timedelta(minutes=5)
    return moments


# ---------------------------------------------------------------------------------------------------------------
# People and products


def create_staff() -> dict[str, User]:
    return {
        username: staff_create(username=username, full_name=name, posts=posts, approval_limit=limit,
                               password=DEMO_PASSWORD)
        for username, name, posts, limit in STAFF
    }


def create_customers(rng: random.Random, officers: list[User], count: int) -> list[Customer]:
    used_ids: set[str] = set()
    customers = []
    for i in range(count):
        male = rng.random() < 0.5
        name = rng.choice(SURNAMES) + rng.choice(MALE_NAMES if male else FEMALE_NAMES)
        # Every fifth customer earns well (business owners, doctors): they carry the large applications.
        high_earner = i % 5 == 0
        birth = date(rng.randint(1984, 1995) if high_earner else rng.randint(1968, 1998), rng.randint(1, 12),
                     rng.randint(1, 28))
        while True:
            sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
            id_number = make_id_number(rng.choice(REGIONS), birth, sequence)
            if id_number not in used_ids:
                used_ids.add(id_number)
                break
        district = rng.choice(list(DISTRICTS))
        employer, occupation = rng.choice(JOBS)
        income = rng.randrange(35000, 80000, 500) if high_earner else rng.randrange(8000, 30000, 100)
        debt = Decimal(rng.randrange(0, income // 8, 100)) if rng.random() < 0.6 else Decimal("0")
        customers.append(customer_create(actor=officers[i % len(officers)], data={
            "name": name, "id_number": id_number, "phone": f"1{rng.choice('35789')}{rng.randrange(10**9):09d}",
            "address": f"浙江省杭州市{district}{rng.choice(DISTRICTS[district])}{rng.randint(1, 999)}号"
                       f"{rng.randint(1, 20)}幢{rng.randint(1, 6)}单元{rng.randint(1, 30)}0{rng.randint(1, 4)}室",
            "employer": employer, "occupation": occupation, "monthly_income": Decimal(income),
            "monthly_debt_payment": debt, "civil_capacity": "full",
            # What the scorecard weighs for stability (SPEC §15), from the index so that the random draws above stay
            # as they were; every seventh customer left unknown (a value of its own).
            **({} if i % 7 == 6 else {"employment_years": Decimal((i * 7) % 16 + (i % 3) / 2),
                                      "residence": RESIDENCES[i % len(RESIDENCES)]}),
        }))
    return customers


RESIDENCES = ["mortgage", "own", "rent", "mortgage", "own", "other"]


# ---------------------------------------------------------------------------------------------------------------
# Loans


@dataclass(frozen=True)
class Story:
    """One demo application: its product, wish, and the path it has travelled so far."""

    officer: str
    product: str
    amount: int
    term: int
    purpose: str
    path: tuple[str, ...]
    guarantor: bool = False
    complete_documents: bool = True
    notify: bool = False  # the officer records the customer notification the day after the decision
    last_days_ago: int = 1


PENDING = ("submit", "start_investigation", "complete_investigation", "pass_review")
STORIES = [
    Story("mkt1", "consumer", 60000, 24, "home_renovation", (), complete_documents=False, last_days_ago=0),
    Story("mkt2", "consumer", 30000, 12, "education", (), last_days_ago=1),
    Story("mkt1", "consumer", 120000, 36, "wedding", PENDING[:3] + ("return_to_marketing",), last_days_ago=2),
    Story("mkt1", "consumer", 50000, 24, "travel", ("submit",), last_days_ago=1),
    Story("mkt2", "auto", 150000, 36, "car_purchase", ("submit",), last_days_ago=3),
    Story("mkt1", "consumer", 80000, 36, "medical", PENDING[:2], last_days_ago=2),
    Story("mkt2", "business", 400000, 36, "business_operation", PENDING[:2], guarantor=True, last_days_ago=4),
    Story("mkt1", "consumer", 200000, 48, "home_renovation", PENDING[:3], guarantor=True, last_days_ago=1),
    Story("mkt1", "housing", 700000, 240, "house_purchase", PENDING + ("return_to_review",), last_days_ago=2),
    Story("mkt2", "consumer", 150000, 36, "durable_goods", PENDING, last_days_ago=1),
    Story("mkt1", "housing", 900000, 300, "house_purchase", PENDING, last_days_ago=3),
    Story("mkt2", "business", 250000, 24, "equipment", PENDING, guarantor=True, last_days_ago=5),
    Story("mkt1", "housing", 1200000, 360, "house_purchase", PENDING + ("escalate",), last_days_ago=2),
    Story("mkt2", "business", 800000, 60, "business_operation", PENDING + ("escalate",), guarantor=True,
          last_days_ago=6),
    Story("mkt1", "consumer", 80000, 24, "education", PENDING + ("approve",), notify=True, last_days_ago=9),
    Story("mkt2", "auto", 180000, 36, "car_purchase", PENDING + ("approve",), notify=True, last_days_ago=12),
    # Decided more than three working days ago and never notified: the dashboard shows it late (rule 12).
    Story("mkt1", "housing", 1500000, 300, "house_purchase", PENDING + ("escalate", "approve"), last_days_ago=8),
    Story("mkt1", "business", 200000, 36, "business_operation", PENDING + ("approve",), guarantor=True,
          last_days_ago=1),
    Story("mkt2", "consumer", 100000, 36, "travel", PENDING + ("reject",), notify=True, last_days_ago=10),
    Story("mkt1", "housing", 2000000, 360, "house_purchase", PENDING + ("escalate", "reject"), last_days_ago=4),
    Story("mkt1", "consumer", 40000, 12, "durable_goods", ("submit", "withdraw"), last_days_ago=5),
    Story("mkt2", "auto", 90000, 24, "car_purchase", ("withdraw",), last_days_ago=7),
]

ACTORS = {
    "submit": "mkt", "withdraw": "mkt", "start_investigation": "inv1", "complete_investigation": "inv1",
    "pass_review": "rev1", "return_to_marketing": "rev1", "return_to_review": "appr1", "escalate": "appr1",
}
REASONS = {
    "return_to_marketing": "收入证明与银行流水不一致,请补充近六个月工资流水后重新提交。",
    "return_to_review": "请补充抵押物评估报告的复核意见及借款人家庭负债情况。",
    "escalate": "申请金额超过本人授权额度,提交分行审批。",
    "reject": "借款人近两年征信记录有多次逾期,还款意愿存疑,不予批准。",
    "withdraw": "客户因个人原因撤回申请。",
}


def _fits(customer: Customer, product: Product, amount: Decimal, term: int, method: str, when: date) -> bool:
    """The borrower can carry the loan comfortably (DTI ≤ 40%) and is young enough at maturity."""
    if age_on(customer.birth_date, add_months(when, term)) >= product.max_age_at_maturity:
        return False
    installment = first_installment(amount, RATES[product.code], term, method)
    return (customer.monthly_debt_payment + installment) / customer.monthly_income <= Decimal("0.40")


def pick_borrower(candidates: list[Customer], product: Product, amount: Decimal, term: int, method: str,
              when: date) -> tuple[Customer, int]:
    """The first customer who can carry the loan; ages move on every year, so shorten the term if nobody can."""
    terms = [t for t in range(term, product.min_term_months - 1, -12)] or [product.min_term_months]
    for months in terms:
        for customer in candidates:
            if _fits(customer, product, amount, months, method, when):
                return customer, months
    raise RuntimeError(f"no demo customer can carry {amount} over {term} months of {product.code}")


def collateral_for(rng: random.Random, product: Product, customer: Customer, amount: Decimal, on: date) -> list[dict]:
    if product.code == "housing":
        value = (amount / Decimal(rng.choice(["0.50", "0.55", "0.60", "0.65"]))).quantize(Decimal("1000"), ROUND_DOWN)
        district = rng.choice(list(DISTRICTS))
        return [{
            "kind": "property", "owner_name": customer.name, "appraised_value": value,
            "description": f"杭州市{district}{rng.choice(DISTRICTS[district])}{rng.randint(1, 300)}号"
                           f"{rng.randint(1, 18)}幢{rng.randint(1, 3)}单元{rng.randint(2, 28)}0{rng.randint(1, 4)}室",
            "certificate_no": f"浙({on.year - 1})杭州市不动产权第{rng.randrange(10**7):07d}号",
            "appraised_on": on - timedelta(days=rng.randint(5, 40)), "disposer_consent": True,
        }]
    if product.code == "auto":
        value = (amount / Decimal("0.70")).quantize(Decimal("100"), ROUND_DOWN)
        return [{
            "kind": "vehicle", "owner_name": customer.name, "appraised_value": value,
            "description": rng.choice(["比亚迪汉 EV", "大众帕萨特 330TSI", "丰田凯美瑞 2.0G", "吉利星越L"]),
            "certificate_no": f"3301{rng.randrange(10**8):08d}",
            "appraised_on": on - timedelta(days=rng.randint(1, 10)), "disposer_consent": True,
        }]
    return []


def payload_for(name: str, loan: Loan) -> dict:
    amount = str(loan.proposed_amount or loan.amount)
    term = loan.proposed_term_months or loan.term_months
    rate = str(RATES[loan.product.code])
    if name == "complete_investigation":
        investigators = ["inv1", "inv2"] if loan.product.dual_investigation else ["inv1"]
        return {
            "investigators": investigators, "field_visit_on": today().isoformat(), "identity_verified": True,
            "income_verified": True, "purpose_verified": True, "guarantors_verified": True,
            "collateral_verified": True, "opinion": "recommend", "recommended_amount": str(loan.amount),
            "recommended_term_months": loan.term_months,
            "comment": "经实地走访核实,借款人身份、收入及用途真实,第一还款来源充足,建议按申请金额发放。",
        }
    if name == "pass_review":
        return {"opinion": "资料齐全,用途合规,负债收入比在产品限额内,同意提交审批。", "amount": str(loan.amount),
                "term_months": loan.term_months, "annual_rate": rate, "repayment_method": loan.repayment_method}
    if name == "approve":
        return {"amount": amount, "term_months": term, "annual_rate": rate,
                "repayment_method": loan.proposed_method or loan.repayment_method, "reason": "同意按审查意见发放。"}
    if name in REASONS:
        return {"reason": REASONS[name]}
    return {}


def _actor(name: str, loan: Loan, story: Story, staff: dict[str, User]) -> User:
    if name in ("approve", "reject"):
        return staff["branch1" if loan.status == Status.PENDING_BRANCH_APPROVAL else "appr1"]
    who = ACTORS[name]
    return staff[story.officer if who == "mkt" else who]


def _tell(story: Story, loan: Loan, staff: dict[str, User], decided: datetime) -> None:
    """The officer tells the customer on the next working day and records it (rule 12)."""
    day = add_working_days(timezone.localtime(decided).date(), 1)
    at = min(timezone.make_aware(datetime.combine(day, time(10, 30))), timezone.now() - timedelta(minutes=1))
    with travel(at):
        decision_record_notification(loan_id=loan.pk, actor=staff[story.officer], notified_on=today())


def cosign(loan: Loan, staff: dict[str, User], *, at: datetime) -> None:
    """The second investigator named on a two-person report co-signs it with their own login (rule 26)."""
    with travel(at):
        perform("cosign_investigation", loan_id=loan.pk, actor=staff["inv2"],
                data={"agree": True, "comment": "参与实地调查,同意调查结论。"})


def originate_loans(rng: random.Random, staff: dict[str, User], products: dict[str, Product],
           customers: list[Customer]) -> list[Loan]:
    loans = []
    borrowers = list(customers)
    for story in STORIES:
        product = products[story.product]
        method = product.repayment_methods[0]
        moments = _timeline(rng, len(story.path) + 1, last_days_ago=story.last_days_ago)
        created = moments[0].date()
        amount = Decimal(story.amount).quantize(Decimal("0.01"))
        borrower, term = pick_borrower(borrowers, product, amount, story.term, method, created)
        borrowers.remove(borrower)
        guarantors = []
        if story.guarantor:
            guarantor = rng.choice([c for c in customers if c.pk != borrower.pk])
            guarantors = [(guarantor, rng.choice(["spouse", "relative", "business_partner"]))]
        documents = list(product.required_documents)
        if not story.complete_documents:
            documents = documents[:2]
        if guarantors:
            documents.append("guarantor_id")
        with travel(moments[0]):
            loan = loan_create(actor=staff[story.officer], data=ApplicationInput(
                customer=borrower, product=product, amount=amount, term_months=term,
                repayment_method=method, purpose=story.purpose, interviewed_on=today(), credit_authorised=True,
                guarantors=guarantors, collaterals=collateral_for(rng, product, borrower, amount, today()),
                documents=documents,
            ))
            # The scans of the papers received, and the investigator's site photos (SPEC §11).
            demo_files(loan, by=staff[story.officer], photos_by=staff["inv1"],
                       photos=2 if "complete_investigation" in story.path else 0)
        for name, moment in zip(story.path, moments[1:], strict=True):
            loan.refresh_from_db()
            with travel(moment):
                perform(name, loan_id=loan.pk, actor=_actor(name, loan, story, staff), data=payload_for(name, loan))
            if name == "complete_investigation" and loan.product.dual_investigation:
                cosign(loan, staff, at=moment + timedelta(minutes=2))  # the next step is 5+ minutes on
        if story.notify:
            _tell(story, loan, staff, moments[-1])
        loan.refresh_from_db()
        loans.append(loan)
    return loans
