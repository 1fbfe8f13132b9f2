"""Whether a socket may still be held: the session that opened it and its account
still stand.

A socket lives no longer than its right to exist: the session it was opened with
must still be there and unexpired (logout deletes it), the account active
(deactivation, by any path: accounts/credential_triggers.py) and its password the
one it had at the handshake (a password change ends every other session, Django's
rule for HTTP). `verdict` is that rule; it is given its facts by the sweep here and,
for a message, by the store statement itself (chat/message_store.py).

Each server process reads, every CHAT_CREDENTIAL_CHECK_SECONDS, the users named by
credential changes of the last seconds (accounts.CredentialChange, written by the
database triggers whichever way the change was made: a small indexed read, whatever
the number of sockets) and checks those users' sockets; every
CHAT_CREDENTIAL_FULL_CHECK_SECONDS it checks all its sockets (sessions that simply
expired, a change it could not see). A socket whose right ended is told through its
inbox (`chat.credentials.ended`): its own task sends the error and closes.

A write from a socket checks first (the message store in the same statement), so
nothing a socket sends after its logout is stored, even in the moment before the
sweep closes it.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.functions import Now
from django.utils import timezone

from chat.db_threads import in_db_thread
from chat.errors import AccountDisabled, SessionEnded

logger = logging.getLogger(__name__)

# Keys per query: far below SQLite's bound on parameters, few queries per sweep.
CHUNK = 2000
# Seconds of the credential-change log each check reads: a change is seen if its
# transaction commits within this long of the change (a longer one is caught by the
# next full check).
CHANGE_WINDOW = 10


@dataclass(frozen=True, slots=True)
class Credential:
    """What a socket was opened with."""

    user_id: int
    session_key: str
    # The account's password hash at the handshake: a change ends the socket.
    password: str


def verdict(
    *, session_live: bool, account_active: bool, password_same: bool
) -> type[SessionEnded] | type[AccountDisabled] | None:
    """Why a socket may no longer be held, or None while it may."""
    if not account_active:
        return AccountDisabled
    if not session_live or not password_same:
        return SessionEnded
    return None


def ended(credentials: Iterable[Credential]) -> dict[Credential, type]:
    """The credentials that no longer stand, each with its ending (an error class).
    Synchronous: two queries per CHUNK credentials."""
    from accounts.models import Session

    credentials = list(credentials)
    now = timezone.now()
    keys = sorted({credential.session_key for credential in credentials})
    user_ids = sorted({credential.user_id for credential in credentials})
    live_keys: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        live_keys.update(
            Session.objects.filter(
                session_key__in=keys[start : start + CHUNK], expire_date__gt=now
            ).values_list("session_key", flat=True)
        )
    accounts: dict[int, tuple[bool, str]] = {}
    for start in range(0, len(user_ids), CHUNK):
        for pk, is_active, password in (
            get_user_model()
            .objects.filter(pk__in=user_ids[start : start + CHUNK])
            .values_list("pk", "is_active", "password")
        ):
            accounts[pk] = (is_active, password)
    endings = {}
    for credential in credentials:
        is_active, password = accounts.get(credential.user_id, (False, ""))
        ending = verdict(
            session_live=credential.session_key in live_keys,
            account_active=is_active,
            password_same=password == credential.password,
        )
        if ending is not None:
            endings[credential] = ending
    return endings


def ending_of(credential: Credential):
    """The error a write from this socket is refused with, or None."""
    return ended([credential]).get(credential)


def while_held(credential: Credential, operation):
    """`operation` (synchronous), refused with its ending once `credential` no
    longer stands."""

    def held(*args, **kwargs):
        ending = ending_of(credential)
        if ending is not None:
            raise ending()
        return operation(*args, **kwargs)

    return held


def _recent_changes(seen: dict[int, float]) -> set[int]:
    """Users named by credential changes committed lately and not yet seen by this
    process (`seen`: change id -> when seen, pruned here)."""
    from accounts.models import CredentialChange

    now = time.monotonic()
    for change_id in [i for i, at in seen.items() if now - at > 2 * CHANGE_WINDOW]:
        del seen[change_id]
    users = set()
    for change_id, user_id in CredentialChange.objects.filter(
        at__gt=Now() - timedelta(seconds=CHANGE_WINDOW)
    ).values_list("id", "user_id"):
        if change_id not in seen:
            seen[change_id] = now
            users.add(user_id)
    return users


def _check(sockets: dict[str, Credential], seen: dict, full: bool) -> dict:
    """The endings of these sockets: all of them checked (`full`), or those of the
    users whose credentials changed lately."""
    if full:
        from accounts.models import CredentialChange

        # The log only needs the last few seconds; any process may trim it.
        CredentialChange.objects.filter(
            at__lt=Now()
            - timedelta(seconds=settings.CHAT_CREDENTIAL_FULL_CHECK_SECONDS)
        ).delete()
        _recent_changes(seen)  # what the full check covers needs no second look
        candidates = sockets.values()
    else:
        users = _recent_changes(seen)
        if not users:
            return {}
        candidates = [c for c in sockets.values() if c.user_id in users]
    return ended(candidates)


class Sweep:
    """This event loop's sockets and the task that checks them."""

    def __init__(self):
        # By socket name: the socket's credential, and how to end the socket.
        self.sockets: dict[str, tuple[Credential, Callable[[str], None]]] = {}
        self.task: asyncio.Task | None = None
        self.seen_changes: dict[int, float] = {}

    def add(
        self, name: str, credential: Credential, end: Callable[[str], None]
    ) -> None:
        """Check the socket from now on; `end(code)` is called (once) with the
        code of the error that ends it."""
        self.sockets[name] = (credential, end)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())

    def discard(self, name: str) -> None:
        self.sockets.pop(name, None)
        if not self.sockets and self.task is not None:
            # Nothing left to check: no task outlives the last socket (a test's
            # loop ends with no pending task).
            self.task.cancel()
            self.task = None

    async def run(self) -> None:
        full_check_at = time.monotonic() + settings.CHAT_CREDENTIAL_FULL_CHECK_SECONDS
        while self.sockets:
            await asyncio.sleep(settings.CHAT_CREDENTIAL_CHECK_SECONDS)
            sockets = dict(self.sockets)
            full = time.monotonic() >= full_check_at
            credentials = {name: held[0] for name, held in sockets.items()}
            try:
                endings = await in_db_thread(_check)(
                    credentials, self.seen_changes, full
                )
            except Exception:
                # The database is away: sockets keep their right until it answers
                # (their writes fail meanwhile anyway); checked again next time.
                logger.warning("socket credential check failed", exc_info=True)
                continue
            if full:
                full_check_at = (
                    time.monotonic() + settings.CHAT_CREDENTIAL_FULL_CHECK_SECONDS
                )
            for name, (credential, end) in sockets.items():
                ending = endings.get(credential)
                if ending is None or name not in self.sockets:
                    continue
                # Ended once: the socket closes, and later checks leave it alone.
                del self.sockets[name]
                try:
                    end(ending.code)
                except Exception:
                    # One socket that cannot be ended does not stop the sweep (its
                    # writes are refused all the same).
                    logger.warning("could not end socket %s", name, exc_info=True)


_sweeps: dict[asyncio.AbstractEventLoop, Sweep] = {}


def sweep() -> Sweep:
    """The running loop's sweep."""
    loop = asyncio.get_running_loop()
    found = _sweeps.get(loop)
    if found is None:
        for closed in [loop for loop in _sweeps if loop.is_closed()]:
            del _sweeps[closed]
        found = _sweeps[loop] = Sweep()
    return found


ENDINGS = {error.code: error for error in (SessionEnded, AccountDisabled)}
