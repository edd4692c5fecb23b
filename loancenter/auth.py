"""Authentication: lock-out and throttle of failed logins, API tokens that expire, and a password validator
(SPEC §10 "Authentication", §16.14; issue 13, finding 11).

Every way in by password — the login page, the admin's login, ``POST /api/auth/token/`` — calls Django's
``authenticate()``, which calls ``LockoutModelBackend``: the rules live here once.

- **Lock-out** by username and client address together: ``LOGIN_MAX_FAILURES`` failures for one username from one
  address within ``LOGIN_LOCK_MINUTES`` refuse that username from that address for ``LOGIN_LOCK_MINUTES``. Nobody
  locks another person out from elsewhere; unknown usernames are counted and locked alike.
- **Throttle** per client address, counting failures only: past ``LOGIN_THROTTLE_RATE`` (default 20 per 10
  minutes) every attempt from that address is refused until the period ends.
- **One answer.** A refused attempt looks like a wrong password to the caller (Django's ``authenticate()`` returns
  ``None``); only the throttle, which is about the address and not about any account, says so (the views ask
  ``refused_as_throttled``).
- **Reserved before checked.** An attempt is counted as a failure *before* its password is checked, in one
  transaction holding the counters' rows; a success takes it back. So a burst of simultaneous guesses gets at most
  the limit checked, and the counters (``LoginCounter`` rows) are shared by every worker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.throttling import BaseThrottle

from loancenter.lib.env import parse_rate
from loancenter.lib.errors import DomainError
from loancenter.models import LoginCounter
from loancenter.refusals import record_refusal

log = logging.getLogger(__name__)

# Stands for the address when ``authenticate()`` is called without a request (a shell, a script): such calls share
# one counter per username, and one throttle.
NO_ADDRESS = "-"


# --- the client's address ----------------------------------------------------------------------------------------

def client_address(request) -> str:
    """The client's address as DRF's throttles see it: ``REMOTE_ADDR``, or with ``NUM_PROXIES`` > 0 the entry
    that many proxies from the end of ``X-Forwarded-For`` (the one the nearest trusted proxy wrote)."""
    if request is None:
        return NO_ADDRESS
    return (BaseThrottle().get_ident(request) or NO_ADDRESS)[:64]


# --- the counters ------------------------------------------------------------------------------------------------

def _throttle_rate() -> tuple[int, timedelta]:
    count, seconds = parse_rate(settings.LOGIN_THROTTLE_RATE)
    return count, timedelta(seconds=seconds)


@dataclass(frozen=True)
class Attempt:
    """One login attempt counted in advance: ``refused`` (locked or throttled) attempts are not to be checked."""

    username: str
    address: str
    lockout_id: int
    throttle_id: int
    throttle_count: int  # the address's failures with this attempt counted
    refused: str = ""  # "", "locked" or "throttled"


def _fresh(row: LoginCounter, now: datetime, window: timedelta) -> None:
    """Forget a row's failures once its window (and any lock) has passed."""
    if row.window_ends <= now and not (row.locked_until and row.locked_until > now):
        row.failures, row.window_ends, row.locked_until = 0, now + window, None


def attempt_begin(username: str, address: str) -> Attempt:
    """Count an attempt before its password is checked; refuse it if the pair is locked or the address throttled.

    The two rows are created if need be (``INSERT … ON CONFLICT DO NOTHING``, committed at once), then locked in a
    fixed order (``SELECT … FOR UPDATE``), so simultaneous attempts are counted one after the other. A refused
    attempt still counts against its address's throttle, never against the pair (a lock is not prolonged).
    """
    username = username[:150]
    limit, period = _throttle_rate()
    for _try in range(5):
        ended = timezone.now() - timedelta(days=1)  # a new row's window has ended: its first attempt starts one
        LoginCounter.objects.bulk_create(
            [LoginCounter(kind=LoginCounter.LOCKOUT, username=username, address=address, window_ends=ended),
             LoginCounter(kind=LoginCounter.THROTTLE, username="", address=address, window_ends=ended)],
            ignore_conflicts=True,
        )
        with transaction.atomic():
            rows = {row.kind: row for row in LoginCounter.objects.select_for_update().filter(
                Q(kind=LoginCounter.LOCKOUT, username=username) | Q(kind=LoginCounter.THROTTLE, username=""),
                address=address,
            ).order_by("kind")}
            if len(rows) < 2:
                continue  # a success or the clean-up deleted a row after the insert: insert it again
            # The time is read under the lock, so the attempts that reserve one after the other see it grow: the
            # first starts the window, and no later one starts another (forgetting the first's count).
            now = timezone.now()
            pair, throttle = rows[LoginCounter.LOCKOUT], rows[LoginCounter.THROTTLE]
            _fresh(pair, now, timedelta(minutes=settings.LOGIN_LOCK_MINUTES))
            _fresh(throttle, now, period)
            if throttle.failures >= limit:
                refused = "throttled"
            elif (pair.locked_until and pair.locked_until > now) or pair.failures >= settings.LOGIN_MAX_FAILURES:
                refused = "locked"  # locked, or the last allowed guesses are being checked right now
            else:
                refused = ""
                pair.failures += 1
            throttle.failures += 1
            pair.save(update_fields=["failures", "window_ends", "locked_until"])
            throttle.save(update_fields=["failures", "window_ends", "locked_until"])
            break
    else:
        raise RuntimeError(f"login counters for {address} keep disappearing")
    attempt = Attempt(username, address, pair.pk, throttle.pk, throttle.failures, refused)
    if refused:
        _throttled_by(attempt, limit)  # a refused attempt is a failure too
    return attempt


def attempt_end(attempt: Attempt, *, succeeded: bool) -> None:
    """After the password check: a success takes the attempt back; a failure that reaches a limit locks or
    throttles, and is recorded once (``RefusedAttempt``), not once per refused request."""
    if succeeded:
        LoginCounter.objects.filter(pk=attempt.lockout_id).delete()
        LoginCounter.objects.filter(pk=attempt.throttle_id).update(failures=Greatest(F("failures") - 1, 0))
        return
    now = timezone.now()
    locked = LoginCounter.objects.filter(
        pk=attempt.lockout_id, failures__gte=settings.LOGIN_MAX_FAILURES, locked_until__isnull=True,
    ).update(locked_until=now + timedelta(minutes=settings.LOGIN_LOCK_MINUTES))
    if locked:
        _record("login_locked", _("Username %(username)s locked for %(minutes)s minutes from %(address)s after "
                                  "%(count)s failed logins.") % {
            "username": attempt.username, "address": attempt.address, "count": settings.LOGIN_MAX_FAILURES,
            "minutes": settings.LOGIN_LOCK_MINUTES})
    _throttled_by(attempt, _throttle_rate()[0])


def _throttled_by(attempt: Attempt, limit: int) -> None:
    """Record the throttle once: the failure that brought the address's count to the limit starts it (each count
    is taken by exactly one attempt)."""
    if attempt.throttle_count == limit:
        _record("login_throttled", _("Logins from %(address)s refused until the end of the period after %(count)s "
                                     "failed logins.") % {"address": attempt.address, "count": limit})


def _record(code: str, detail: str) -> None:
    log.warning("%s: %s", code, detail)
    record_refusal(actor=None, action="login", loan_id=None, error=DomainError(code, detail))


def refused_as_throttled(request) -> bool:
    """Whether ``authenticate(request, …)`` refused the attempt because its address is throttled. The throttle is
    about the address, not an account, so the login page and the token endpoint may say so; a lock-out they may
    not (it would tell which usernames were tried, and from where)."""
    return getattr(request, "login_refused", "") == "throttled"


def address_throttled(address: str) -> int:
    """Seconds until ``address`` may try to log in again (0: it may now)."""
    limit, _period = _throttle_rate()
    now = timezone.now()
    row = LoginCounter.objects.filter(kind=LoginCounter.THROTTLE, username="", address=address,
                                      failures__gte=limit, window_ends__gt=now).first()
    return max(1, int((row.window_ends - now).total_seconds() + 0.999)) if row else 0


def clear_login_counters() -> int:
    """Delete the rows whose window and lock have passed (they count nothing any more)."""
    now = timezone.now()
    deleted, _rows = LoginCounter.objects.filter(window_ends__lte=now).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lte=now)).delete()
    return deleted


# --- the backend -------------------------------------------------------------------------------------------------

class LockoutModelBackend(ModelBackend):
    """Django's ModelBackend, with each password attempt counted first and refused when locked or throttled."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        attempt = attempt_begin(str(username), client_address(request))
        if attempt.refused:
            if request is not None:
                request.login_refused = attempt.refused  # read by refused_as_throttled()
            # Stops other backends; Django's authenticate() answers None, exactly as for a wrong password.
            raise PermissionDenied(attempt.refused)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        attempt_end(attempt, succeeded=user is not None)
        return user


# --- API tokens --------------------------------------------------------------------------------------------------

def token_expires_at(token: Token) -> datetime:
    return token.created + timedelta(hours=settings.API_TOKEN_HOURS)


def token_issue(user) -> Token:
    """The user's API token: the one they have while it is valid, else a new one."""
    Token.objects.filter(user=user, created__lte=timezone.now() - timedelta(hours=settings.API_TOKEN_HOURS)).delete()
    token, _created = Token.objects.get_or_create(user=user)
    return token


def request_user(request):
    """The person behind a request to a page that answers both the browser and the API (the PDFs, the exports):
    the session's user, else the API token's (None when neither, or for an expired or revoked token)."""
    if request.user.is_authenticated:
        return request.user
    try:
        found = ExpiringTokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0] if found else None


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing a token older than ``API_TOKEN_HOURS`` (and deleting it).

    Refusals carry a code: ``token_invalid`` (unknown — never issued, or revoked by a password change or a
    deactivation), ``token_expired``, ``account_inactive``.
    """

    def authenticate_credentials(self, key):
        token = Token.objects.select_related("user").filter(key=key).first()
        if token is None:
            raise AuthenticationFailed(_("Invalid token: log in again."), code="token_invalid")
        if not token.user.is_active:
            raise AuthenticationFailed(_("This account is deactivated."), code="account_inactive")
        if token_expires_at(token) <= timezone.now():
            token.delete()
            raise AuthenticationFailed(_("The token has expired: log in again."), code="token_expired")
        return token.user, token


class LoginThrottle(BaseThrottle):
    """DRF throttle of ``POST /api/auth/token/``: 429 with ``Retry-After`` while the address is throttled.

    It only reads the counter; the backend counts (failures only) and refuses a burst that got past this check.
    """

    def allow_request(self, request, view) -> bool:
        self._wait = address_throttled(client_address(request))
        return not self._wait

    def wait(self):
        return self._wait


# --- passwords ---------------------------------------------------------------------------------------------------

class NotOnlySpacesValidator:
    """Refuses a password made only of white space (eight spaces pass every validator Django ships)."""

    def validate(self, password, user=None):
        if not password.strip():
            raise ValidationError(_("The password may not consist only of spaces."), code="password_only_spaces")

    def get_help_text(self):
        return _("Your password may not consist only of spaces.")
