"""``merge_customers`` — resolve customers registered twice (SPEC §16.10), four eyes.

    merge_customers list                                             duplicates and merges waiting for approval
    merge_customers file KEPT_ID MERGED_ID --by USERNAME --reason R   file a merge (general or manager)
    merge_customers approve MERGE_ID --by USERNAME                    another manager approves: rows move, twin deleted
    merge_customers reject MERGE_ID --by USERNAME --reason R          another manager rejects

Runs on a database where the normalising migration (applications 0012) stopped on duplicates; run ``migrate`` again
once every group is resolved. ``--by`` names the staff member acting, as ``create_staff`` is run by the operator.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from applications.customer_merge import (
    customer_merge_approve,
    customer_merge_file,
    customer_merge_reject,
    duplicate_customers,
)
from applications.models import CustomerMerge
from loancenter.lib.errors import DomainError
from loancenter.models import User


def _staff(username: str) -> User:
    # Only the columns of the first migration: the command must run before later ones (module docstring).
    user = User._base_manager.filter(username=username).only("id", "username", "first_name", "is_active").first()
    if user is None or not user.is_active:
        raise CommandError(f"--by {username!r}: no active staff member with that username")
    return user


class Command(BaseCommand):
    help = "List, file, approve or reject merges of customers registered twice (four eyes, audited)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="customers whose ID numbers are the same once normalised, and pending merges")
        file = sub.add_parser("file", help="file a merge of MERGED_ID into KEPT_ID")
        file.add_argument("kept_id", type=int)
        file.add_argument("merged_id", type=int)
        file.add_argument("--by", required=True)
        file.add_argument("--reason", required=True)
        approve = sub.add_parser("approve", help="approve a filed merge (a manager who did not file it)")
        approve.add_argument("merge_id", type=int)
        approve.add_argument("--by", required=True)
        reject = sub.add_parser("reject", help="reject a filed merge (a manager who did not file it)")
        reject.add_argument("merge_id", type=int)
        reject.add_argument("--by", required=True)
        reject.add_argument("--reason", required=True)

    def handle(self, *args, action, **options):
        try:
            if action == "list":
                self._list()
            elif action == "file":
                request = customer_merge_file(actor=_staff(options["by"]), kept_id=options["kept_id"],
                                              merged_id=options["merged_id"], reason=options["reason"])
                self.stdout.write(f"Filed merge {request.pk}: customer {request.merged_id} into {request.kept_id}; "
                                  "another manager approves it.")
            elif action == "approve":
                request = customer_merge_approve(actor=_staff(options["by"]), merge_id=options["merge_id"])
                moved = ", ".join(f"{label} {len(ids)}" for label, ids in request.moved.items()) or "nothing"
                self.stdout.write(f"Merged customer {request.merged_id} into {request.kept_id} (merge {request.pk}); "
                                  f"moved: {moved}.")
            else:
                request = customer_merge_reject(actor=_staff(options["by"]), merge_id=options["merge_id"],
                                                reason=options["reason"])
                self.stdout.write(f"Rejected merge {request.pk}.")
        except DomainError as error:
            raise CommandError(error.message) from None

    def _list(self) -> None:
        groups = duplicate_customers()
        for group in groups:
            self.stdout.write(f"{group[0]['id_number']!r}:")
            for row in group:
                self.stdout.write(
                    f"  customer {row['id']}  {row['name']}  {row['id_number']!r}  phone {row['phone']}  "
                    f"loans {row['loans']}  warning list {'yes' if row['on_warning_list'] else 'no'}  "
                    f"registered {row['created_at']:%Y-%m-%d}"
                )
        pending = CustomerMerge.objects.filter(status=CustomerMerge.State.PENDING).select_related("filed_by")
        for request in pending.only("id", "kept_id", "merged_id", "filed_by__username", "reason"):
            self.stdout.write(f"pending merge {request.pk}: customer {request.merged_id} into {request.kept_id}, "
                              f"filed by {request.filed_by.username}: {request.reason}")
        self.stdout.write(f"{len(groups)} group(s) of duplicates, {pending.count()} merge(s) waiting for approval.")
