"""Querysets compiled to SQL once per process, run on the event loop's pool.

The ORM stays the one place where a read's rules are written (chat.selectors). A
`LoopQuery` builds its queryset once with placeholder values, keeps the SQL the ORM
compiled for it, and runs that SQL with the real values as a prepared statement on
the loop's own pool (chat.loop_clients): on the socket's hot paths the ORM's compile
and model building cost more than the query itself, and the database threads would
be a hop each way. PostgreSQL only; callers use the ORM elsewhere.
"""

from collections.abc import Callable

from django.db.models import QuerySet

from chat import loop_clients

# Placeholder values no real argument takes: each marks where its argument goes in
# the compiled SQL's parameters.
_INT_PLACEHOLDER_BASE = -7_340_000_000


class LoopQuery:
    """`build(**arguments)` -> a queryset of `values_list` rows (or of ids to count,
    with `count=True`). Arguments are named: ints, or strings (given as `str`)."""

    def __init__(
        self,
        build: Callable[..., QuerySet],
        *,
        ints: tuple[str, ...] = (),
        strings: tuple[str, ...] = (),
        count: bool = False,
    ):
        self.build = build
        self.ints, self.strings, self.count = ints, strings, count
        self.sql: str | None = None
        self.slots: list = []

    def _compile(self) -> None:
        placeholders = {
            name: _INT_PLACEHOLDER_BASE - index for index, name in enumerate(self.ints)
        }
        placeholders.update(
            {name: f"\x1f{name}\x1f" for name in self.strings}  # never a real slug
        )
        queryset = self.build(**placeholders)
        sql, params = queryset.query.sql_with_params()
        by_value = {value: name for name, value in placeholders.items()}
        # A parameter the ORM added itself (a constant) keeps its value.
        self.slots = [(by_value.get(param), param) for param in params]
        unused = set(placeholders) - {name for name, _ in self.slots}
        if unused:
            raise ValueError(f"{self.build.__name__} does not use {sorted(unused)}")
        self.sql = f"SELECT count(*) FROM ({sql}) AS counted" if self.count else sql

    def parameters(self, arguments: dict) -> list:
        return [arguments[name] if name else value for name, value in self.slots]

    async def fetch(self, **arguments) -> list[tuple]:
        """The rows (or, with count=True, [(count,)]) for these arguments."""
        if self.sql is None:
            self._compile()
        pool = await loop_clients.postgres_pool()
        async with pool.connection() as conn:
            cursor = await conn.execute(
                self.sql, self.parameters(arguments), prepare=True
            )
            return await cursor.fetchall()
