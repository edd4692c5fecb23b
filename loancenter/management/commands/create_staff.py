"""``create_staff USERNAME --posts a,b [--unit CODE] [--approval-limit N] [--password P] [--id-number X] [--name N]``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from loancenter.lib.errors import DomainError
from loancenter.services import staff_create


def _posts(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _limit(raw: str | None) -> Decimal | None:
    if raw is None:
        return None
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        raise CommandError(f"--approval-limit {raw!r} is not an amount") from None
    if value < 0 or value != value.quantize(Decimal("0.01")):
        raise CommandError(f"--approval-limit {raw!r} must be a non-negative amount with at most two decimals")
    return value.quantize(Decimal("0.01"))


class Command(BaseCommand):
    help = "Create a staff member with one or more posts (a mortgage clerk never also reviews, approves or disburses)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--posts", default="", help="comma-separated post codes, e.g. marketing,investigator")
        parser.add_argument("--approval-limit", dest="approval_limit", help="approver's authority limit in CNY")
        parser.add_argument("--password", help="without it the account cannot log in until a password is set")
        parser.add_argument("--id-number", dest="id_number", default="", help="resident ID number (staff loans)")
        parser.add_argument("--name", default="", help="full name")
        parser.add_argument("--unit", default=None, help="the code of the person's unit (default: the center)")

    def handle(self, *args, username, posts, approval_limit, password, id_number, name, unit, **options):
        post_list = _posts(posts)
        try:
            user = staff_create(  # runs the password validators
                username=username, posts=post_list, password=password, approval_limit=_limit(approval_limit),
                id_number=id_number.strip().upper(), full_name=name, unit=unit,
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        except ValidationError as error:
            messages = [f"{field}: {' '.join(errs)}" for field, errs in error.message_dict.items()] \
                if hasattr(error, "error_dict") else error.messages
            raise CommandError("; ".join(messages)) from None
        limit = f", approval limit {user.approval_limit:,.2f}" if user.approval_limit is not None else ""
        login = "" if password else " (no password set: it cannot log in yet)"
        self.stdout.write(
            f"Created staff {user.username} in unit {user.unit_id} with posts: "
            f"{', '.join(sorted(user.posts)) or 'none'}{limit}{login}"
        )
