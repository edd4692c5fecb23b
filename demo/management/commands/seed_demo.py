"""``seed_demo``: load the demo (staff for every post, products, customers, loans in every state) once."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from demo.loans import DEMO_PASSWORD, demo_present
from demo.post_loan import seed_warnings
from demo.seed import load_demo
from loancenter.models import User


class Command(BaseCommand):
    help = "Load demo staff, products, customers and loans (does nothing when the demo is already loaded)."

    def add_arguments(self, parser):
        parser.add_argument("--if-no-staff", action="store_true",
                            help="load only into a database without any staff (what `make run` uses)")

    def handle(self, *args, if_no_staff: bool = False, **options):
        if if_no_staff and User.objects.exists():
            self.stdout.write("Staff already exist; demo data not loaded.")
            return
        if demo_present():
            self.stdout.write("Demo data already loaded; nothing to do.")
            return
        result = load_demo()
        seed_warnings(result.staff)
        counts = result.status_counts
        self.stdout.write(f"Demo staff (password for all: {DEMO_PASSWORD}):")
        for user in result.staff:
            limit = f"  limit {user.approval_limit:,.0f}" if user.approval_limit is not None else ""
            self.stdout.write(f"  {user.username:<8} {user.get_full_name():<6} {', '.join(sorted(user.posts))}{limit}")
        self.stdout.write(
            f"Loaded {len(result.staff)} staff, {len(result.products)} products, {len(result.customers)} customers, "
            f"{len(result.loans)} loans ({', '.join(f'{s} {n}' for s, n in sorted(counts.items()))})."
        )
