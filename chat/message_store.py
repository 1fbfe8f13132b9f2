"""Storing a new message row: lock the room, check membership and mute, insert once
per client_id, move `Room.last_message_id`; nothing else (no attachments, mentions
or broadcast: `chat.services.message_create` does those around it).

Two implementations of one contract, chosen by the database:
- PostgreSQL: one statement, the same SQL run on Django's connection (sync callers,
  inside their transaction) or on the event loop's async pool (the socket, one
  round trip in autocommit; `chat.loop_clients`).
- any other database (SQLite, the embedded default): the same steps with the ORM,
  inside the caller's transaction.

Why the room row is locked: inserts into one room are then serialised, so ids within
a room grow in commit order. Without it, two transactions could commit ids 8 then 7,
and a client that had seen 8 would never ask for 7 (docs/reliability.md).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F
from psycopg_pool import PoolTimeout

from chat import socket_credentials
from chat.batching import Batcher
from chat.models import Membership, Message, Room
from chat.socket_credentials import Credential


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What storing found. `message_id` is the new message (created) or the one
    already stored under this client_id; None when nothing was stored: no room, not
    a member, or muted until `muted_until`."""

    room_found: bool
    is_member: bool
    message_id: int | None = None
    created: bool = False
    # The room's newest message id before this one (its broadcast's `prev_id`).
    prev_id: int = 0
    # When the new message was stored (created only).
    created_at: datetime | None = None
    muted_until: datetime | None = None
    # Why the sending socket may no longer be held (chat.socket_credentials), when
    # nothing was stored for that reason.
    holder_ending: type | None = None


# One round trip. The row lock of `room` is taken before the INSERT draws its id
# (the INSERT selects from `room`), and held until the statement's transaction
# commits. `existing` and `member` read the statement's snapshot: a duplicate
# committed while this statement waited for the lock is not seen there, but the
# unique constraint makes the INSERT do nothing, and `store` runs the statement again
# (its new snapshot then sees the row). `moved` updates the room row locked above;
# PostgreSQL re-reads its newest version first (READ COMMITTED), as `room` did.
# The message's position and the room's count move together, under the lock, and
# the author's own-messages-after-read count with them (unread badges, no scan).
# The mute condition is Membership.is_muted's, in SQL. `holder` gathers, for a
# message sent over a socket, the facts of chat.socket_credentials.verdict (session
# live, account active, password unchanged); a socket whose right ended stores
# nothing. REST and the admin pass no session: no holder check.
USER_TABLE = get_user_model()._meta.db_table
STORE_SQL = f"""
WITH holder AS MATERIALIZED (
    SELECT
        EXISTS (
            SELECT FROM accounts_session WHERE session_key = %(session_key)s
              AND expire_date > %(created_at)s
        ) AS session_live,
        COALESCE(account.is_active, false) AS account_active,
        account.password IS NOT DISTINCT FROM %(password)s AS password_same
    FROM (SELECT 1) AS one
    LEFT JOIN {USER_TABLE} AS account ON account.id = %(author_id)s
), room AS MATERIALIZED (
    SELECT id, last_message_id, message_count FROM chat_room
    WHERE id = %(room_id)s FOR UPDATE
), member AS MATERIALIZED (
    SELECT muted_until FROM chat_membership
    WHERE room_id = %(room_id)s AND user_id = %(author_id)s
), existing AS MATERIALIZED (
    SELECT id FROM chat_message
    WHERE room_id = %(room_id)s AND author_id = %(author_id)s
      AND client_id = %(client_id)s
), inserted AS (
    INSERT INTO chat_message
        (room_id, author_id, body, client_id, created_at, position)
    SELECT room.id, %(author_id)s, %(body)s, %(client_id)s, %(created_at)s,
        room.message_count + 1
    FROM room, member, holder
    WHERE NOT EXISTS (SELECT FROM existing)
      AND (%(session_key)s::text IS NULL OR (
          holder.session_live AND holder.account_active AND holder.password_same))
      AND (member.muted_until IS NULL OR member.muted_until <= %(created_at)s)
    ON CONFLICT ON CONSTRAINT message_client_id_unique DO NOTHING
    RETURNING id
), moved AS (
    UPDATE chat_room
    SET last_message_id = inserted.id, message_count = message_count + 1
    FROM inserted WHERE chat_room.id = %(room_id)s
), counted AS (
    UPDATE chat_membership SET sent_after_read = sent_after_read + 1
    FROM inserted
    WHERE chat_membership.room_id = %(room_id)s
      AND chat_membership.user_id = %(author_id)s
)
SELECT
    (SELECT last_message_id FROM room),
    EXISTS (SELECT FROM member),
    (SELECT muted_until FROM member),
    (SELECT id FROM existing),
    (SELECT id FROM inserted),
    holder.session_live, holder.account_active, holder.password_same
FROM holder
"""


def _parameters(room_id, author_id, body, client_id, created_at, holder) -> dict:
    return {
        "room_id": room_id,
        "author_id": author_id,
        "body": body,
        "client_id": client_id,
        "created_at": created_at,
        "session_key": holder.session_key if holder is not None else None,
        "password": holder.password if holder is not None else None,
    }


def _result(row, created_at: datetime, holder) -> StoreResult | None:
    """The statement's row as a result; None for a lost race on the client_id (run
    the statement again)."""
    prev_id, is_member, muted_until, existing_id, inserted_id, *facts = row
    if holder is not None:
        session_live, account_active, password_same = facts
        ending = socket_credentials.verdict(
            session_live=session_live,
            account_active=account_active,
            password_same=password_same,
        )
        if ending is not None:
            return StoreResult(False, False, holder_ending=ending)
    if prev_id is None:
        return StoreResult(room_found=False, is_member=False)
    if not is_member:
        return StoreResult(room_found=True, is_member=False)
    if inserted_id is not None:
        return StoreResult(
            True, True, inserted_id, True, prev_id=prev_id, created_at=created_at
        )
    if existing_id is not None:
        return StoreResult(True, True, existing_id)
    if muted_until is not None:
        return StoreResult(True, True, muted_until=muted_until)
    return None


# A lost race is resolved by the second run, whose snapshot sees the winner's row;
# a third is never needed, and a bound keeps a bug from looping.
ATTEMPTS = 3


def store(
    *,
    room_id: int,
    author_id: int,
    body: str,
    client_id: str,
    created_at: datetime,
    holder: Credential | None = None,
) -> StoreResult:
    """Store a message from sync code, inside the caller's transaction (which holds
    the room's lock until it commits). `holder`: the sending socket's credential."""
    if connection.vendor != "postgresql":
        if holder is not None:
            ending = socket_credentials.ending_of(holder)
            if ending is not None:
                return StoreResult(False, False, holder_ending=ending)
        return _store_with_orm(room_id, author_id, body, client_id, created_at)
    parameters = _parameters(room_id, author_id, body, client_id, created_at, holder)
    with connection.cursor() as cursor:
        for _attempt in range(ATTEMPTS):
            cursor.execute(STORE_SQL, parameters)
            result = _result(cursor.fetchone(), created_at, holder)
            if result is not None:
                return result
    raise RuntimeError("message store: the client_id race did not resolve")


async def store_async(
    *,
    room_id: int,
    author_id: int,
    body: str,
    client_id: str,
    created_at: datetime,
    holder: Credential | None = None,
) -> StoreResult:
    """Store a message from the event loop, committed when this returns.
    PostgreSQL only (`chat.loop_clients.postgres_available`).

    Messages stored while another store is under way go together in the next
    round trip (group commit, `_store_together`)."""
    parameters = _parameters(room_id, author_id, body, client_id, created_at, holder)
    return await _stores.submit(_Store(parameters, created_at, holder))


@dataclass(frozen=True, slots=True)
class _Store:
    parameters: dict
    created_at: datetime
    holder: Credential | None


async def _store_together(stores: Sequence[_Store]) -> list[StoreResult | Exception]:
    """One round trip for all of `stores`: their statements in one pipeline and
    one transaction, with one commit (each statement still locks
    its room, so ids within a room keep their commit order, and a later statement
    for the same room sees the earlier one's row as its `prev_id`). Rooms are
    locked in ascending id order, as every batch of every worker does, so batches
    never wait on each other in a cycle.

    If the batch fails as a whole (one statement's error aborts the transaction),
    nothing of it was stored: each store runs again alone, and only the one at
    fault fails. A statement that lost a client_id race runs again alone too."""
    from chat import loop_clients

    if len(stores) == 1:
        return [await _store_alone(stores[0])]
    order = sorted(range(len(stores)), key=lambda i: stores[i].parameters["room_id"])
    pool = await loop_clients.postgres_pool()
    try:
        async with pool.connection() as conn:
            # An explicit transaction: an error found on this side (a value that
            # cannot be sent) must roll back the statements already queued, which
            # the pipeline's closing Sync would otherwise commit.
            async with conn.pipeline(), conn.transaction():
                cursors = [
                    await conn.execute(STORE_SQL, stores[i].parameters, prepare=True)
                    for i in order
                ]
            rows = {
                i: await cursor.fetchone()
                for i, cursor in zip(order, cursors, strict=True)
            }
    except PoolTimeout as error:  # no connection: alone would not get one either
        return [error] * len(stores)
    except psycopg.Error:
        return [await _outcome_alone(store) for store in stores]
    results = []
    for i, store in enumerate(stores):
        result = _result(rows[i], store.created_at, store.holder)
        results.append(result if result is not None else await _outcome_alone(store))
    return results


async def _outcome_alone(store: _Store) -> StoreResult | Exception:
    try:
        return await _store_alone(store)
    except Exception as error:
        return error


async def _store_alone(store: _Store) -> StoreResult:
    from chat import loop_clients

    pool = await loop_clients.postgres_pool()
    async with pool.connection() as conn:
        for _attempt in range(ATTEMPTS):
            cursor = await conn.execute(STORE_SQL, store.parameters, prepare=True)
            result = _result(await cursor.fetchone(), store.created_at, store.holder)
            if result is not None:
                return result
    raise RuntimeError("message store: the client_id race did not resolve")


_stores: Batcher[_Store, StoreResult] = Batcher(_store_together)


def _store_with_orm(room_id, author_id, body, client_id, created_at) -> StoreResult:
    locked = (
        Room.objects.select_for_update()
        .filter(pk=room_id)
        .values_list("last_message_id", "message_count")
        .first()
    )
    if locked is None:
        return StoreResult(room_found=False, is_member=False)
    membership = (
        Membership.objects.filter(room_id=room_id, user_id=author_id)
        .only("muted_until")
        .first()
    )
    if membership is None:
        return StoreResult(room_found=True, is_member=False)
    existing_id = (
        Message.objects.filter(
            room_id=room_id, author_id=author_id, client_id=client_id
        )
        .values_list("id", flat=True)
        .first()
    )
    if existing_id is not None:
        return StoreResult(True, True, existing_id)
    if membership.is_muted(at=created_at):
        return StoreResult(True, True, muted_until=membership.muted_until)
    prev_id, count = locked
    message = Message(
        room_id=room_id,
        author_id=author_id,
        body=body,
        client_id=client_id,
        position=count + 1,
    )
    message.save(force_insert=True)
    Room.objects.filter(pk=room_id).update(
        last_message_id=message.pk, message_count=F("message_count") + 1
    )
    Membership.objects.filter(room_id=room_id, user_id=author_id).update(
        sent_after_read=F("sent_after_read") + 1
    )
    return StoreResult(
        True, True, message.pk, True, prev_id=prev_id, created_at=message.created_at
    )
