"""Deploy checks (``manage.py check --deploy``) for the audit chain: its key and the database role the app uses.

The role check connects to the database: it runs only with ``--deploy`` (not on every command), and says so if
it cannot connect.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from loancenter import audit as audit_chain
from loancenter import dbroles

DEV_AUDIT_KEY = "dev-only-audit-key-do-not-use-in-production"
MIN_AUDIT_KEY_LENGTH = 32


@register(Tags.security, "database_role", deploy=True)
def check_database_role(app_configs=None, **kwargs):
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return []
    try:
        facts = dbroles.role_facts(DEFAULT_DB_ALIAS)
    except DatabaseError as error:
        return [Warning(f"Could not check the database role the application connects as: {error}".strip(),
                        id="loancenter.W005")]
    if facts is None:  # not migrated yet
        return []
    hint = ("Connect the application as a role granted by `manage.py grant_app_role` (README, \"Two database "
            "roles\"); keep the owner's credentials for migrate.")
    if facts.superuser:
        return [Warning(f"The application connects to PostgreSQL as {facts.user}, a superuser: it can rewrite the "
                        "audit trail (disable its trigger, TRUNCATE).", hint=hint, id="loancenter.W001")]
    if facts.owns_audit:
        return [Warning(f"The application connects to PostgreSQL as {facts.user}, which owns {audit_chain.TABLE} "
                        f"(owner {facts.audit_owner}): it can disable the table's trigger and rewrite the audit trail.",
                        hint=hint, id="loancenter.W002")]
    if facts.audit_privileges:
        listed = ", ".join(sorted(facts.audit_privileges))
        return [Warning(f"The application's role {facts.user} may {listed} on {audit_chain.TABLE}.",
                        hint="Run `manage.py grant_app_role` again as the owner: it revokes them.",
                        id="loancenter.W003")]
    return []


@register(Tags.security, deploy=True)
def check_audit_key(app_configs=None, **kwargs):
    key = settings.AUDIT_HMAC_KEY
    if key == DEV_AUDIT_KEY or key == settings.SECRET_KEY or len(key) < MIN_AUDIT_KEY_LENGTH:
        return [Warning(
            f"AUDIT_HMAC_KEY is the development default, equal to SECRET_KEY or shorter than {MIN_AUDIT_KEY_LENGTH} "
            "characters.",
            hint='Generate one: python -c "import secrets; print(secrets.token_urlsafe(48))"; set it before the '
                 "first audit row is written and never change it on a live chain.",
            id="loancenter.W004",
        )]
    return []
