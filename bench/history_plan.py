"""Query plans and latency of the REST history pages on a room with a million messages.

The REST history endpoint (`GET /api/v1/rooms/<slug>/messages/`) reads its pages
through `chat.selectors.message_page_before` (newest first, `id < before`) and
`chat.selectors.message_page_after` (oldest first, `id > after`). Both are meant to be
a range scan of the partial index `message_room_visible_idx` on (room_id, id) WHERE
deleted_at IS NULL, so a page costs the same whether it is the newest one or a page a
million messages back. This script checks that claim on real PostgreSQL:

1. creates the database named in DATABASE_URL (default `chat_plan`) if it is missing
   and runs the migrations into it;
2. seeds it once (skipped when already seeded): a few users, one big room with
   1,000,000 messages and 20 small rooms with 10,000 each, interleaved in id order
   (every 6th id belongs to a small room), about 1% soft-deleted, using one
   `INSERT ... SELECT generate_series(...)`; then sets each room's `last_message_id`
   and runs VACUUM ANALYZE;
3. takes the exact SQL and parameters Django generates for each page
   (`queryset.query.sql_with_params()` on the queryset the selector builds, checked
   against what the selector really executes) and prints
   `EXPLAIN (ANALYZE, BUFFERS)` for it;
4. times each page 200 times through the selector (the ORM, model instances
   included) and reports median and p99;
5. checks, in a transaction that is rolled back, what happens when the big room has
   been quiet while the small rooms posted 200,000 newer messages (its rows are then
   not spread evenly over the ids), with a few what-if variants for comparison;
6. prints a summary table.

Run it from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chat_plan \\
        .venv/bin/python bench/history_plan.py

Options: `--iterations N` (default 200), `--skip-quiet` (no step 5), `--drop`
(DROP DATABASE when done). The seed takes under a minute on a 2-core machine; later
runs reuse it. The script refuses the
databases `test` and `test_test`, and refuses to seed a database whose message table
already holds rows it did not put there.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings.local")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chat_plan")
# The local settings turn DEBUG on, which makes every cursor record its queries in
# memory: that is not what a server does and it would skew the timings.
os.environ.setdefault("DEBUG", "0")

PROTECTED_DATABASES = {"test", "test_test", "postgres", "template0", "template1"}

USERS = 5
BIG_MESSAGES = 1_000_000
SMALL_ROOMS = 20
SMALL_MESSAGES = 10_000
# Ids 1..TOTAL; every STRIDE-th id goes to a small room (round robin), the rest to the
# big room, so the big room's rows are spread over the whole table.
STRIDE = 6
TOTAL = BIG_MESSAGES + SMALL_ROOMS * SMALL_MESSAGES
assert TOTAL // STRIDE == SMALL_ROOMS * SMALL_MESSAGES
BIG_SLUG = "plan-big"
SMALL_SLUG = "plan-small-{:02d}"
PAGE = 51  # the endpoint's default limit (50) plus the one row that sets `next`


def database_settings() -> dict:
    import dj_database_url

    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    if config["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("DATABASE_URL must point to PostgreSQL (postgres://...)")
    if config["NAME"] in PROTECTED_DATABASES:
        sys.exit(f"refusing to use the database {config['NAME']!r}; pick another name")
    return config


def connect_maintenance(config: dict):
    """An autocommit connection to the `postgres` database of the same server."""
    import psycopg

    return psycopg.connect(
        dbname="postgres",
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        autocommit=True,
    )


def create_database(config: dict) -> None:
    from psycopg import sql

    with connect_maintenance(config) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if exists:
            print(f"database {config['NAME']!r} exists")
        else:
            conn.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"]))
            )
            print(f"database {config['NAME']!r} created")


def drop_database(config: dict) -> None:
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    with connect_maintenance(config) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(config["NAME"]))
        )
    print(f"database {config['NAME']!r} dropped")


# ---- seed ---------------------------------------------------------------------------


def seeded_room_ids() -> tuple[int, list[int]] | None:
    """(big room id, small room ids) when a complete seed is present, else None."""
    from chat.models import Message, Room

    big = Room.objects.filter(slug=BIG_SLUG).first()
    if big is not None and big.last_message_id > 0:
        small = list(
            Room.objects.filter(slug__startswith="plan-small-")
            .order_by("slug")
            .values_list("pk", flat=True)
        )
        return big.pk, small
    if Message.objects.exists():
        sys.exit(
            "the database holds messages this script did not seed; "
            "point DATABASE_URL at a fresh database"
        )
    return None


def seed() -> tuple[int, list[int]]:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from chat.models import Message, Room

    User = get_user_model()
    started = time.perf_counter()
    with transaction.atomic():
        users = []
        for n in range(USERS):
            user, _ = User.objects.get_or_create(username=f"plan-user-{n}")
            users.append(user.pk)
        big, _ = Room.objects.get_or_create(
            slug=BIG_SLUG, defaults={"name": "Plan big room", "owner_id": users[0]}
        )
        small = []
        for n in range(SMALL_ROOMS):
            room, _ = Room.objects.get_or_create(
                slug=SMALL_SLUG.format(n),
                defaults={"name": f"Plan small room {n:02d}", "owner_id": users[0]},
            )
            small.append(room.pk)
        table = Message._meta.db_table
        with connection.cursor() as cursor:
            # One statement; ids are explicit (the id column is an identity column
            # GENERATED BY DEFAULT) so that the interleaving is exact. ~1% of rows
            # (a deterministic hash of the id) are soft-deleted.
            cursor.execute(
                f"""
                INSERT INTO {table}
                    (id, room_id, author_id, body, client_id, created_at, edited_at,
                     deleted_at)
                SELECT
                    g,
                    CASE WHEN g %% %(stride)s = 0
                         THEN (%(small)s::bigint[])
                              [((g / %(stride)s - 1) %% %(nsmall)s) + 1]
                         ELSE %(big)s END,
                    (%(users)s::integer[])[(g %% %(nusers)s) + 1],
                    'message ' || g || ': ' || md5(g::text),
                    'seed-' || g,
                    TIMESTAMPTZ '2025-01-01 00:00:00+00' + g * INTERVAL '20 seconds',
                    NULL,
                    CASE WHEN abs(hashint8(g)) %% 100 = 0
                         THEN TIMESTAMPTZ '2025-01-01 00:00:00+00'
                              + g * INTERVAL '20 seconds' + INTERVAL '1 minute'
                    END
                FROM generate_series(1, %(total)s::bigint) AS g
                """,
                {
                    "stride": STRIDE,
                    "small": small,
                    "nsmall": SMALL_ROOMS,
                    "big": big.pk,
                    "users": users,
                    "nusers": USERS,
                    "total": TOTAL,
                },
            )
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [TOTAL]
            )
            # What `message_create` keeps up to date: each room's newest message id.
            cursor.execute(
                f"""
                UPDATE {Room._meta.db_table} AS r SET last_message_id = m.last_id
                FROM (SELECT room_id, max(id) AS last_id
                      FROM {table} GROUP BY room_id) m
                WHERE m.room_id = r.id
                """
            )
    print(f"inserted {TOTAL:,} messages in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with connection.cursor() as cursor:  # autocommit: VACUUM may not run in a block
        cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute(f"VACUUM (ANALYZE) {Room._meta.db_table}")
        cursor.execute(f"VACUUM (ANALYZE) {User._meta.db_table}")
    print(f"VACUUM (ANALYZE) in {time.perf_counter() - started:.1f} s")
    return big.pk, small


def describe_data(big_id: int, small_ids: list[int]) -> dict:
    from django.db import connection

    from chat.models import Message

    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*), count(*) FILTER (WHERE deleted_at IS NOT NULL),
                   min(id), max(id)
            FROM {table} WHERE room_id = %s
            """,
            [big_id],
        )
        big = cursor.fetchone()
        cursor.execute(
            f"""
            SELECT count(*), count(*) FILTER (WHERE deleted_at IS NOT NULL),
                   count(DISTINCT room_id)
            FROM {table} WHERE room_id <> %s
            """,
            [big_id],
        )
        small = cursor.fetchone()
        cursor.execute(
            """
            SELECT c.relname, pg_relation_size(c.oid)
            FROM pg_class c
            WHERE c.oid = %s::regclass
               OR c.oid IN (SELECT indexrelid FROM pg_index
                            WHERE indrelid = %s::regclass)
            ORDER BY c.relname
            """,
            [table, table],
        )
        sizes = cursor.fetchall()
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0]
        cursor.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name IN "
            "('shared_buffers', 'work_mem', 'random_page_cost', 'effective_cache_size',"
            " 'jit')"
        )
        pg_settings = {
            name: f"{value}{' x ' + unit if unit else ''}"
            for name, value, unit in cursor.fetchall()
        }
    return {
        "big": {
            "messages": big[0],
            "deleted": big[1],
            "min_id": big[2],
            "max_id": big[3],
        },
        "small": {"rooms": small[2], "messages": small[0], "deleted": small[1]},
        "sizes": sizes,
        "version": version,
        "settings": pg_settings,
    }


# ---- the pages ----------------------------------------------------------------------


@dataclass
class Case:
    name: str
    kind: str  # "before" or "after"
    room_id: int
    cursor: int | None
    note: str
    up_to_id: int | None = None
    # A hand-built queryset instead of the selector's: only for the what-if plans.
    build: Callable | None = None
    sql: str = ""
    params: tuple = ()
    plan: str = ""
    plan_json: dict = field(default_factory=dict)
    first_plan_ms: float = 0.0
    rows: int = 0
    timings_ms: list[float] = field(default_factory=list)
    sql_timings_ms: list[float] = field(default_factory=list)


def page_queryset(case: Case):
    """The queryset the selector evaluates, built the way the selector builds it."""
    from chat import selectors

    messages = selectors._visible_messages(case.room_id)
    if case.kind == "before":
        if case.cursor is not None:
            messages = messages.filter(id__lt=case.cursor)
        return messages.order_by("-id")[:PAGE]
    messages = messages.filter(id__gt=case.cursor)
    if case.up_to_id is not None:
        messages = messages.filter(id__lte=case.up_to_id)
    return messages.order_by("id")[:PAGE]


def run_selector(case: Case) -> list:
    from chat import selectors

    if case.kind == "before":
        return selectors.message_page_before(
            room_id=case.room_id, before_id=case.cursor, limit=PAGE
        )
    return selectors.message_page_after(
        room_id=case.room_id, after_id=case.cursor, limit=PAGE, up_to_id=case.up_to_id
    )


def executed_sql(case: Case) -> list[tuple[str, tuple]]:
    """The statements the selector itself sends, with their parameters."""
    from django.db import connection

    seen: list[tuple[str, tuple]] = []

    def record(execute, sql, params, many, context):
        seen.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        run_selector(case)
    return seen


def prepare(case: Case) -> None:
    """Take the SQL from `sql_with_params()` and check that the selector sends it."""
    queryset = case.build() if case.build else page_queryset(case)
    case.sql, params = queryset.query.sql_with_params()
    case.params = tuple(params)
    if case.build:
        return
    sent = executed_sql(case)
    if [(case.sql, case.params)] != sent:
        print(f"\nWARNING: {case.name}: the selector executes different SQL:")
        for sql, sent_params in sent:
            print(f"  {sql} {sent_params}")
        print("  the plan below is for the SQL the selector executes")
        case.sql, case.params = sent[0]


def visible_id(room_id: int, rows_in: int, newest_first: bool) -> int:
    """The id of the room's visible message `rows_in` rows from one end."""
    from chat.models import Message

    return (
        Message.objects.filter(room_id=room_id, deleted_at__isnull=True)
        .order_by("-id" if newest_first else "id")
        .values_list("id", flat=True)[rows_in]
    )


def explain(case: Case) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        # The first run reads whatever is not cached yet: keep its time, show the
        # second.
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + case.sql, case.params
        )
        case.first_plan_ms = _json(cursor.fetchone()[0])[0]["Execution Time"]
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + case.sql, case.params)
        case.plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + case.sql, case.params
        )
        case.plan_json = _json(cursor.fetchone()[0])[0]


def print_plan(case: Case) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        literal = cursor.mogrify(case.sql, case.params)
    print("=" * 100)
    print(f"{case.name}: {case.note} (room {case.room_id}, cursor {case.cursor})")
    print("-" * 100)
    print(literal)
    print("-" * 100)
    print(case.plan)
    print(f"(first, colder run: {case.first_plan_ms:.3f} ms)")


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def analyse(case: Case) -> dict:
    """What the plan does with chat_message: how it reads it and how many rows."""
    nodes = list(plan_nodes(case.plan_json["Plan"]))
    message_scans = [n for n in nodes if n.get("Relation Name") == "chat_message"]
    scan = message_scans[0] if message_scans else {}
    loops = int(scan.get("Actual Loops", 1))
    kept = int(scan.get("Actual Rows", 0)) * loops
    removed = int(scan.get("Rows Removed by Filter", 0)) * loops
    top = case.plan_json["Plan"]
    return {
        "message_scan": " ".join(
            part
            for part in (scan.get("Node Type", "?"), scan.get("Scan Direction", ""))
            if part and part != "Forward"
        ),
        "index": scan.get("Index Name", "-"),
        "index_cond": scan.get("Index Cond", ""),
        "filter": scan.get("Filter", ""),
        "rows_kept": kept,
        "rows_removed": removed,
        "sort": any(n["Node Type"] in ("Sort", "Incremental Sort") for n in nodes),
        "seq_scan_messages": any(
            n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "chat_message"
            for n in nodes
        ),
        "seq_scans": sorted(
            {n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"}
        ),
        "buffers": int(top.get("Shared Hit Blocks", 0))
        + int(top.get("Shared Read Blocks", 0)),
        "rows_out": int(top.get("Actual Rows", 0)),
        "total_cost": top.get("Total Cost"),
        "exec_ms": case.plan_json["Execution Time"],
        "plan_ms": case.plan_json["Planning Time"],
    }


def time_case(case: Case, iterations: int) -> None:
    """Time the selector (SQL, fetch, model instances) and the bare SQL."""
    from django.db import connection

    case.rows = len(run_selector(case))  # warm-up
    for _ in range(iterations):
        started = time.perf_counter()
        run_selector(case)
        case.timings_ms.append((time.perf_counter() - started) * 1000)
    with connection.cursor() as cursor:
        for _ in range(iterations):
            started = time.perf_counter()
            cursor.execute(case.sql, case.params)
            cursor.fetchall()
            case.sql_timings_ms.append((time.perf_counter() - started) * 1000)


def time_random_depths(
    room_id: int, low: int, high: int, iterations: int
) -> list[float]:
    """`before` pages at `iterations` random depths: a less cache-friendly mix."""
    from chat import selectors

    rng = random.Random(20250101)
    cursors = [rng.randint(low, high) for _ in range(iterations)]
    timings = []
    for before in cursors:
        started = time.perf_counter()
        selectors.message_page_before(room_id=room_id, before_id=before, limit=PAGE)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


# ---- a quiet big room ---------------------------------------------------------------


QUIET_MESSAGES = 200_000


def quiet_room_check(big_id: int, small_ids: list[int], last_big_id: int) -> list[Case]:
    """Plans when the big room has been quiet while the others posted 200,000 messages.

    Everything happens in one transaction that is rolled back. When one room holds
    most of the table, PostgreSQL reads it through chat_message_pkey and filters on
    room_id, assuming the room's rows are spread evenly over the ids; this shows what
    that costs when they are not, and what the same queries do when they are bounded
    by `last_message_id`, written with ORDER BY room_id, id, or planned without the
    primary key index.
    """
    from django.db import connection, transaction

    from chat import selectors
    from chat.models import Message

    table = Message._meta.db_table

    def ordered_by_room_and_id():
        return selectors._visible_messages(big_id).order_by("-room_id", "-id")[:PAGE]

    def bounded_by_last_message_id():
        return (
            selectors._visible_messages(big_id)
            .filter(id__lte=last_big_id)
            .order_by("-id")[:PAGE]
        )

    cases = [
        Case("quiet: newest page", "before", big_id, None, "the selector's query"),
        Case(
            "quiet: after newest",
            "after",
            big_id,
            last_big_id,
            "the 'anything new?' call (after=last_message_id), nothing to return",
        ),
        Case(
            "quiet: after, up_to",
            "after",
            big_id,
            last_big_id,
            "the same with up_to_id=room.last_message_id (a selector option)",
            up_to_id=last_big_id,
        ),
        Case(
            "what-if: room_id,id",
            "before",
            big_id,
            None,
            "WHAT-IF, not the selector: newest page, ORDER BY room_id DESC, id DESC",
            build=ordered_by_room_and_id,
        ),
        Case(
            "what-if: id<=last",
            "before",
            big_id,
            None,
            "WHAT-IF, not the selector: newest page with id <= room.last_message_id",
            build=bounded_by_last_message_id,
        ),
    ]
    without_pkey = [
        Case(
            "what-if: no pkey, newest",
            "before",
            big_id,
            None,
            "WHAT-IF: the selector's newest page with chat_message_pkey dropped",
        ),
        Case(
            "what-if: no pkey, after",
            "after",
            big_id,
            last_big_id,
            "WHAT-IF: the selector's after=last_message_id, chat_message_pkey dropped",
        ),
    ]
    with transaction.atomic():
        with connection.cursor() as cursor:
            # No deferred FK checks left pending: ALTER TABLE below refuses them.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                f"""
                INSERT INTO {table}
                    (id, room_id, author_id, body, client_id, created_at, deleted_at)
                SELECT g, (%(small)s::bigint[])[(g %% %(nsmall)s) + 1],
                       (SELECT min(id) FROM auth_user), 'quiet ' || g, 'quiet-' || g,
                       TIMESTAMPTZ '2025-01-01 00:00:00+00' + g * INTERVAL '20 seconds',
                       NULL
                FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
                """,
                {
                    "small": small_ids,
                    "nsmall": len(small_ids),
                    "first": TOTAL + 1,
                    "last": TOTAL + QUIET_MESSAGES,
                },
            )
            cursor.execute(f"ANALYZE {table}")
        for case in cases:
            prepare(case)
            explain(case)
            case.rows = analyse(case)["rows_out"]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname FROM pg_constraint"
                " WHERE conrelid = %s::regclass AND contype = 'p'",
                [table],
            )
            pkey = cursor.fetchone()[0]
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{pkey}" CASCADE')
        for case in without_pkey:
            prepare(case)
            explain(case)
            case.rows = analyse(case)["rows_out"]
        transaction.set_rollback(True)
    # The rolled-back rows leave dead tuples behind, and ANALYZE's row count.
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {table}")
    return cases + without_pkey


# ---- main ---------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument(
        "--skip-quiet", action="store_true", help="skip the quiet-room check"
    )
    parser.add_argument("--drop", action="store_true", help="DROP DATABASE when done")
    args = parser.parse_args()

    config = database_settings()
    create_database(config)

    import django

    django.setup()
    from django.core.management import call_command

    from chat.models import Room

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"migrations applied in {time.perf_counter() - started:.1f} s")

    ids = seeded_room_ids()
    if ids is None:
        print(f"seeding {TOTAL:,} messages ...")
        ids = seed()
    else:
        print("already seeded; reusing the data")
    big_id, small_ids = ids

    shape = describe_data(big_id, small_ids)
    print()
    print(shape["version"])
    print(
        "settings:", ", ".join(f"{k}={v}" for k, v in sorted(shape["settings"].items()))
    )
    big = shape["big"]
    last_big_id = Room.objects.get(pk=big_id).last_message_id
    print(
        f"big room id={big_id}: {big['messages']:,} messages"
        f" ({big['deleted']:,} deleted),"
        f" ids {big['min_id']:,}..{big['max_id']:,}, last_message_id {last_big_id:,}"
    )
    small = shape["small"]
    print(
        f"{small['rooms']} small rooms: {small['messages']:,} messages"
        f" ({small['deleted']:,} deleted)"
    )
    for name, size in shape["sizes"]:
        print(f"  {name:<45} {size / 2**20:8.1f} MiB")

    visible_big = big["messages"] - big["deleted"]
    cases = [
        Case(
            "newest page", "before", big_id, None, "no cursor: the room's first screen"
        ),
        Case(
            "before, 900k back",
            "before",
            big_id,
            visible_id(big_id, 900_000, newest_first=True),
            "`before` = the id 900,000 visible rows back from the newest",
        ),
        Case("after 0 (from start)", "after", big_id, 0, "`after=0`: the oldest page"),
        Case(
            "after, middle",
            "after",
            big_id,
            visible_id(big_id, visible_big // 2, newest_first=False),
            "`after` = the id half-way through the room",
        ),
        Case(
            "after newest",
            "after",
            big_id,
            last_big_id,
            "`after` = last_message_id: the 'anything new?' call, empty",
        ),
        Case(
            "small room, newest",
            "before",
            small_ids[0],
            None,
            "a 10k-message room interleaved with the big one",
        ),
        Case(
            "small room, oldest",
            "after",
            small_ids[0],
            0,
            "`after=0` in the same small room",
        ),
    ]
    for case in cases:
        prepare(case)

    print()
    for case in cases:
        explain(case)
        print_plan(case)
    print("=" * 100)

    print(f"\ntiming each page {args.iterations} times ...")
    for case in cases:
        time_case(case, args.iterations)
    random_depths = time_random_depths(
        big_id, big["min_id"] + 1, big["max_id"], args.iterations
    )

    quiet = []
    if not args.skip_quiet:
        print(
            f"\nquiet-room check: {QUIET_MESSAGES:,} newer messages in the small rooms"
            " only (rolled back afterwards)"
        )
        quiet = quiet_room_check(big_id, small_ids, last_big_id)
        for case in quiet:
            print_plan(case)
        print("=" * 100)

    print("\nSUMMARY (EXPLAIN: server execution time of the warm run;")
    print(
        f"         SQL: execute + fetch through Django's cursor;"
        f" ORM: the selector call,"
        f" model instances included; {args.iterations} runs each)"
    )
    header = (
        f"{'page':<25} {'cursor':>9} {'chat_message read via':<35} {'rows':>4}"
        f" {'kept+filtered':>14} {'sort':>4} {'seq':>3} {'bufs':>5} {'cost':>6}"
        f" {'EXPLAIN':>8} {'SQL p50':>8} {'SQL p99':>8} {'ORM p50':>8} {'ORM p99':>8}"
    )
    print(header)
    print("-" * len(header))

    def row(case: Case, timings: bool) -> str:
        a = analyse(case)
        scan = f"{a['message_scan']} {a['index']}".replace("Index Scan", "Idx")
        text = (
            f"{case.name:<25} {str(case.cursor):>9} {scan[:35]:<35} {case.rows:>4}"
            f" {a['rows_kept']:>6,}+{a['rows_removed']:<7,}"
            f" {'yes' if a['sort'] else 'no':>4}"
            f" {'yes' if a['seq_scan_messages'] else 'no':>3} {a['buffers']:>5}"
            f" {a['total_cost']:>6.1f} {a['exec_ms']:>8.3f}"
        )
        if timings:
            text += (
                f" {statistics.median(case.sql_timings_ms):>8.3f}"
                f" {percentile(case.sql_timings_ms, 99):>8.3f}"
                f" {statistics.median(case.timings_ms):>8.3f}"
                f" {percentile(case.timings_ms, 99):>8.3f}"
            )
        return text

    for case in cases:
        print(row(case, timings=True))
    print(
        f"{'before, random depth':<25} {'(random)':>9}"
        f" {'(the 900k-back plan shape)':<35}"
        f" {'':>4} {'':>14} {'':>4} {'':>3} {'':>5} {'':>6} {'':>8} {'':>8} {'':>8}"
        f" {statistics.median(random_depths):>8.3f}"
        f" {percentile(random_depths, 99):>8.3f}"
    )
    for case in quiet:
        print(row(case, timings=False))

    print()
    for case in cases + quiet:
        a = analyse(case)
        if a["sort"] or a["seq_scan_messages"]:
            print(f"!! {case.name}: the plan has a Sort or a Seq Scan of chat_message")
        if a["rows_kept"] + a["rows_removed"] > 2 * PAGE:
            print(
                f"!! {case.name}: read {a['rows_kept'] + a['rows_removed']:,} rows of"
                f" chat_message for a page of {PAGE}"
            )
        if a["index"] != "message_room_visible_idx":
            print(
                f"-- {case.name}: {a['index']} with Filter {a['filter']}, not"
                f" message_room_visible_idx"
            )

    if args.drop:
        drop_database(config)


if __name__ == "__main__":
    main()
