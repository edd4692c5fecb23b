"""``manage.py grant_app_role ROLE``: what the application's database role may do (PostgreSQL).

Run it with the owner's credentials (the role that runs ``migrate`` and owns the tables), after every
``migrate``; it is idempotent. The role must exist (``CREATE ROLE … LOGIN PASSWORD …``), own nothing and not be
a superuser. README, "Two database roles".
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from loancenter.dbroles import RoleError, grant_app_role


class Command(BaseCommand):
    help = (
        "Grant the application's database role ordinary DML on every table, but only INSERT and SELECT on the audit "
        "table (and the same DML by default on tables created later). Run as the tables' owner, after migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="the role the application connects with, e.g. loancenter_app")
        parser.add_argument("--database", default="default")

    def handle(self, *args, **options):
        try:
            grant = grant_app_role(options["role"], using=options["database"])
        except RoleError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(grant.summary())
