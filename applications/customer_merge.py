"""Four-eyes merge of customer rows that are one person (SPEC §16.10, rule 25).

Before rule 25 the same borrower could be registered twice, once with full-width digits. The normalising migration
(applications 0012) stops on such twins; ``python manage.py merge_customers`` files a merge (one staff member) and
approves it (another): the merged row's loans, guarantees, archive folder and every other row that points to it move
to the kept customer, the kept row takes the stricter of the two warning-list flags and civil capacities, and the
merged row is deleted. Its values stay in the request and in the audit trail.

This module runs on a database where that migration stopped: it reads and writes only the customer columns of the
first migrations, the merge table (applications 0011, created before 0012), the audit table, and the columns that
point to a customer — each one only if it exists in the database (another app's later migration may not have run).
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import Customer, CustomerMerge, Guarantor, Loan
from applications.workflow import audit, jsonable
from loancenter import posts as P
from loancenter.lib.errors import Forbidden, InvalidState, RuleViolation
from loancenter.lib.identifiers import ID_NUMBER, duplicates, normalise_id_number
from loancenter.refusals import recorded
from loancenter.rules import check_maker_checker, check_transition, require_post

# Sent inside the approval's transaction before the rows move: ``kept_id``, ``merged_id``. A receiver resolves what
# cannot simply be re-pointed (the archive: one folder per customer) and returns ``{label: [ids]}`` of what it moved.
customer_merging = Signal()

# Customer columns since applications 0001/0002: the merge reads only these.
CUSTOMER_COLUMNS = (
    "id", "name", "id_number", "phone", "address", "employer", "occupation", "monthly_income",
    "monthly_debt_payment", "civil_capacity", "on_warning_list", "birth_date", "gender", "officer_id", "created_at",
)
_CAPACITY_ORDER = {"none": 0, "limited": 1, "full": 2}
FILERS = (P.GENERAL, P.MANAGER)
APPROVERS = (P.MANAGER,)


def duplicate_customers() -> list[list[dict]]:
    """Groups of customers whose ID numbers are the same once normalised (works before the normalising migration)."""
    rows = Customer._base_manager.values_list("id", "id_number").order_by("id")
    groups = duplicates(rows, ID_NUMBER)
    ids = [pk for group in groups.values() for pk, _value in group]
    by_id = {row["id"]: row for row in Customer._base_manager.filter(pk__in=ids).values(*CUSTOMER_COLUMNS)}
    loans = {}
    for customer_id, count in _counts(Loan, "customer_id", ids):
        loans[customer_id] = count
    return [
        [{**by_id[pk], "loans": loans.get(pk, 0)} for pk, _value in group]
        for _number, group in sorted(groups.items())
    ]


def _counts(model, column: str, ids: list[int]):
    from django.db.models import Count

    return model._base_manager.filter(**{f"{column}__in": ids}).values_list(column).annotate(n=Count("pk")).order_by()


def _customer(pk: int, *, lock: bool = False) -> dict:
    qs = Customer._base_manager.filter(pk=pk)
    if lock:
        qs = qs.select_for_update()
    row = qs.values(*CUSTOMER_COLUMNS).first()
    if row is None:
        raise RuleViolation("no_customer", _("There is no customer %(id)s.") % {"id": pk})
    return row


def _check_twins(kept: dict, merged: dict) -> None:
    if kept["id"] == merged["id"]:
        raise RuleViolation("merge_same_row", _("A customer cannot be merged into itself."))
    if normalise_id_number(kept["id_number"]) != normalise_id_number(merged["id_number"]):
        raise RuleViolation(
            "merge_not_twins",
            _("Customers %(a)s and %(b)s have different ID numbers; only the same person can be merged (rule 25).")
            % {"a": kept["id"], "b": merged["id"]},
        )


def _require_active(actor, *posts: str) -> None:
    if not actor.is_active:
        raise Forbidden("inactive", _("This account is deactivated."))
    require_post(actor, *posts)


@recorded("customer_merge_file")
@transaction.atomic
def customer_merge_file(*, actor, kept_id: int, merged_id: int, reason: str) -> CustomerMerge:
    """File the merge of ``merged_id`` into ``kept_id`` (general or manager); another manager approves it."""
    _require_active(actor, *FILERS)
    if not (reason or "").strip():
        raise RuleViolation("reason_required", _("State the reason."), field="reason")
    kept, merged = _customer(kept_id), _customer(merged_id)
    _check_twins(kept, merged)
    if CustomerMerge.objects.filter(merged_id=merged_id, status=CustomerMerge.State.PENDING).exists():
        raise InvalidState(_("A merge of customer %(id)s is already waiting for approval.") % {"id": merged_id})
    request = CustomerMerge.objects.create(kept_id=kept_id, merged_id=merged_id, merged_values=jsonable(merged),
                                           reason=reason.strip(), filed_by=actor)
    audit(actor=actor, action="customer_merge_file", obj=request,
          payload={"kept": kept_id, "merged": merged_id, "merged_values": jsonable(merged)}, reason=reason)
    return request


@recorded("customer_merge_reject")
@transaction.atomic
def customer_merge_reject(*, actor, merge_id: int, reason: str) -> CustomerMerge:
    request = _open_request(actor, merge_id, decision="reject")
    if not (reason or "").strip():
        raise RuleViolation("reason_required", _("State the reason."), field="reason")
    request.reject()
    request.decided_by, request.decided_at = actor, timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at"])
    audit(actor=actor, action="customer_merge_reject", obj=request, payload={"kept": request.kept_id,
          "merged": request.merged_id}, reason=reason)
    return request


def _open_request(actor, merge_id: int, *, decision: str) -> CustomerMerge:
    _require_active(actor, *APPROVERS)
    request = CustomerMerge.objects.select_for_update().filter(pk=merge_id).first()
    if request is None:
        raise RuleViolation("no_merge", _("There is no merge request %(id)s.") % {"id": merge_id})
    check_transition(getattr(request, decision), _("Merge request %(id)s is already decided.") % {"id": merge_id})
    check_maker_checker(request.filed_by_id, actor, what=_("filed this merge"))  # four eyes
    return request


@recorded("customer_merge_approve")
@transaction.atomic
def customer_merge_approve(*, actor, merge_id: int) -> CustomerMerge:
    """A manager other than the filer approves: every row moves to the kept customer and the twin is deleted."""
    request = _open_request(actor, merge_id, decision="approve")
    kept = _customer(request.kept_id, lock=True)
    merged = _customer(request.merged_id, lock=True)
    _check_twins(kept, merged)
    _check_guarantees(kept["id"], merged["id"])
    # The stricter facts win: a merge must never take a person off the warning list or restore a capacity.
    flags = {
        "on_warning_list": kept["on_warning_list"] or merged["on_warning_list"],
        "civil_capacity": min(kept["civil_capacity"], merged["civil_capacity"],
                              key=lambda c: _CAPACITY_ORDER.get(c, 0)),
    }
    Customer._base_manager.filter(pk=kept["id"]).update(**flags)
    moved: dict[str, list] = {}
    for _receiver, answer in customer_merging.send(sender=Customer, kept_id=kept["id"], merged_id=merged["id"]):
        moved.update(answer or {})
    moved.update(_repoint(kept["id"], merged["id"]))
    _delete_customer(merged["id"])
    request.approve()
    request.decided_by, request.decided_at = actor, timezone.now()
    request.merged_values, request.moved = jsonable(merged), moved
    request.save(update_fields=["status", "decided_by", "decided_at", "merged_values", "moved"])
    audit(actor=actor, action="customer_merge", obj=request,
          payload={"kept": kept["id"], "merged": merged["id"], "merged_values": jsonable(merged),
                   "kept_before": {k: kept[k] for k in flags}, "kept_after": flags, "moved": moved},
          reason=request.reason)
    for loan in Loan._base_manager.filter(pk__in=moved.get("applications.loan", [])).only("pk", "status"):
        audit(actor=actor, action="customer_merge", loan=loan,
              payload={"customer": kept["id"], "merged_customer": merged["id"], "merge": request.pk})
    return request


def _check_guarantees(kept_id: int, merged_id: int) -> None:
    """One person cannot guarantee their own loan, nor guarantee one loan twice (rule 10): a person decides first."""
    clashes = sorted(
        set(Guarantor._base_manager.filter(customer_id=merged_id, loan__customer_id=kept_id).values_list("loan_id", flat=True))
        | set(Guarantor._base_manager.filter(customer_id=kept_id, loan__customer_id=merged_id).values_list("loan_id", flat=True))
        | set(Guarantor._base_manager.filter(customer_id=kept_id, loan__guarantors__customer_id=merged_id)
              .values_list("loan_id", flat=True))
    )
    if clashes:
        numbers = Loan._base_manager.filter(pk__in=clashes).values_list("application_no", flat=True)
        raise RuleViolation(
            "merge_conflict",
            _("The two rows are one person who would borrow and guarantee, or guarantee twice, on loans %(loans)s; "
              "correct those loans first (rule 10).") % {"loans": ", ".join(n or "?" for n in numbers)},
        )


def _column_exists(table: str, column: str) -> bool:
    with connection.cursor() as cursor:
        if table not in connection.introspection.table_names(cursor):
            return False
        return column in {col.name for col in connection.introspection.get_table_description(cursor, table)}


def _repoint(kept_id: int, merged_id: int) -> dict[str, list]:
    """Every column that points to the merged customer now points to the kept one (columns that exist only)."""
    moved: dict[str, list] = {}
    for relation in Customer._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete and (relation.one_to_many or relation.one_to_one)):
            continue
        model, field = relation.related_model, relation.field
        if not _column_exists(model._meta.db_table, field.column):
            continue
        rows = model._base_manager.filter(**{field.attname: merged_id})
        ids = list(rows.values_list("pk", flat=True))
        if not ids:
            continue
        try:
            with transaction.atomic():
                rows.update(**{field.attname: kept_id})
        except IntegrityError:
            raise RuleViolation(
                "merge_conflict",
                _("Both customers have a %(what)s that cannot be combined; it must be resolved first.")
                % {"what": model._meta.verbose_name},
            ) from None
        moved.setdefault(model._meta.label_lower, []).extend(ids)
    return moved


def _delete_customer(pk: int) -> None:
    # Every row that pointed to it has moved; a plain DELETE, so that tables of later migrations are not consulted.
    table = connection.ops.quote_name(Customer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])  # noqa: S608 (table name from the model)

