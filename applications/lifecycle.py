"""Where a loan stands in its lifecycle, who acts next and by when (issue 15 part 10: the loan page's step indicator).

Read from the lifecycle the loan declares (``applications.models.Loan``'s transitions, through ``workflow.STEPS``):
the main line is the states the ``forward`` transitions lead through, in the order they are declared; the next steps
are the transitions that start from the loan's state; their posts say who acts. Nothing here is a second table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import Loan, Status
from applications.workflow import STEPS, declared_transitions, targets
from loancenter import posts as P
from loancenter.lib.dates import add_working_days

# Off the main line: where a loan ends when it does not settle.
ENDINGS = (Status.REJECTED, Status.WITHDRAWN, Status.WRITTEN_OFF)


@dataclass(frozen=True)
class Stage:
    status: str
    label: str
    state: str  # "done", "now", "todo" or "off" (an ending off the main line)


@dataclass(frozen=True)
class NextStep:
    label: str
    who: str  # the posts (and the person, when one is named) who act


@dataclass(frozen=True)
class Deadline:
    label: str
    due_on: date
    late: bool


@dataclass
class Lifecycle:
    stages: list[Stage]
    next_steps: list[NextStep] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)
    finished: bool = False
    repaying: bool = False


def main_line() -> list[str]:
    """The states of the happy path: draft, then each state a ``forward`` transition leads to, in declared order."""
    line = [Status.DRAFT]
    for transition in declared_transitions():
        if not transition.custom.get("forward"):
            continue
        for target in targets(transition):
            if target not in line and target not in ENDINGS:
                line.append(target)
    for transition in declared_transitions():  # the end of the line: settled after active
        for target in targets(transition):
            if transition.source == line[-1] and target not in line and target not in ENDINGS:
                line.append(target)
    return line


def _line_for(loan: Loan) -> list[str]:
    line = main_line()
    if not loan.product.secured and loan.status != Status.COLLATERAL_REGISTERED:
        line.remove(Status.COLLATERAL_REGISTERED)
    if loan.status == Status.PENDING_BRANCH_APPROVAL or loan.escalated_by_id:
        line.insert(line.index(Status.PENDING_APPROVAL) + 1, Status.PENDING_BRANCH_APPROVAL)
    return line


def _who(step_name: str, loan: Loan) -> str:
    step = STEPS[step_name]
    transition = step.at(loan.status)
    posts = transition.permission.posts if transition is not None else step.posts
    who = "、".join(str(P.POST_LABELS.get(p, p)) for p in posts)
    if step.owner_only and loan.marketing_officer_id:
        who = f"{who} ({loan.marketing_officer.display})"
    elif step_name == "complete_investigation" and loan.current_investigation is not None:
        who = f"{who} ({loan.current_investigation.assignee.display})"
    elif step_name == "cosign_investigation" and loan.current_investigation is not None \
            and loan.current_investigation.cosigner_id:
        who = f"{who} ({loan.current_investigation.cosigner.display})"
    return who


def lifecycle(loan: Loan, *, today: date) -> Lifecycle:
    status_labels = dict(Status.choices)
    line = _line_for(loan)
    if loan.status in line:
        position = line.index(loan.status)
        stages = [Stage(s, str(status_labels[s]), "done" if i < position else "now" if i == position else "todo")
                  for i, s in enumerate(line)]
    else:  # rejected, withdrawn or written off: the line up to the furthest stage reached, then the ending
        from applications.models import STAGE

        reached = [s for s in line if STAGE[s] <= loan.stage_reached and STAGE[s] < STAGE[loan.status]] \
            if loan.status != Status.WITHDRAWN else [s for s in line if STAGE[s] <= loan.stage_reached]
        stages = [Stage(s, str(status_labels[s]), "done") for s in reached]
        stages.append(Stage(loan.status, str(status_labels[loan.status]), "off"))
    result = Lifecycle(stages=stages, finished=loan.status in (Status.SETTLED, *ENDINGS))

    # Who acts next: the forward steps from this state first; in a state without one, every step it allows
    # (withdrawing, which any state before disbursement allows, is never the next step).
    # An active loan waits for nobody (it repays by its schedule; settling and writing off are not its next step).
    here = [name for name, step in STEPS.items() if step.at(loan.status) is not None and name != "withdraw"
            and step.at(loan.status).custom.get("queue")]
    forward = [name for name in here if STEPS[name].at(loan.status).custom.get("forward")]
    result.repaying = loan.status == Status.ACTIVE
    for name in forward or here:
        # After signing, a secured loan's collateral is registered first; an unsecured one goes to the receipt.
        if loan.status == Status.CONTRACT_SIGNED and (name == "register_collateral") != loan.product.secured:
            continue
        result.next_steps.append(NextStep(str(STEPS[name].label), _who(name, loan)))

    # Deadlines: the decision is notified to the customer within N working days (rule 12).
    if loan.decided_at is not None and loan.customer_notified_on is None and loan.status in (
            Status.APPROVED, Status.REJECTED):
        due = add_working_days(timezone.localtime(loan.decided_at).date(), settings.DECISION_NOTICE_WORKING_DAYS)
        result.deadlines.append(Deadline(
            _("Notify the customer of the decision (%(n)s working days)") % {"n": settings.DECISION_NOTICE_WORKING_DAYS},
            due, due < today))
    return result
