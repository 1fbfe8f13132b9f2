"""Model-level guarantees: the history index is what the database actually uses."""

import pytest
from django.db import connection

from chat.models import Message

pytestmark = pytest.mark.django_db


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # Force the planner to show whether the index *can* serve the query, whatever
        # the (tiny) table's statistics say.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    "page",
    [
        lambda room_id: Message.objects.filter(
            room_id=room_id, deleted_at__isnull=True
        ).order_by("-id")[:50],
        lambda room_id: Message.objects.filter(
            room_id=room_id, deleted_at__isnull=True, id__gt=1000
        ).order_by("id")[:50],
    ],
    ids=["newest-50", "after-id"],
)
def test_history_queries_are_index_range_scans_on_postgres(postgres, general, page):
    from django.db import transaction

    with transaction.atomic():
        plan = _plan(page(general.pk))
    assert "message_room_visible_idx" in plan
    assert "Sort" not in plan  # the index order serves ORDER BY: no sort step


def test_room_group_name_does_not_depend_on_the_slug(general):
    assert general.group_name == f"room.{general.pk}"
