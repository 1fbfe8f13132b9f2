"""Process-wide counters and gauges, exposed in Prometheus text format at /metrics.

Plain integers updated from the event loop (one thread), so no locks. Each server
process reports its own; Prometheus sums them across processes.
"""

from dataclasses import dataclass, field


@dataclass
class Counter:
    name: str
    help: str
    kind: str = "counter"
    value: int = 0
    labelled: dict[str, int] = field(default_factory=dict)

    def inc(self, amount: int = 1, *, label: str | None = None) -> None:
        if label is None:
            self.value += amount
        else:
            self.labelled[label] = self.labelled.get(label, 0) + amount

    def dec(self, amount: int = 1) -> None:
        self.value -= amount


open_sockets = Counter("chat_open_sockets", "Open chat sockets.", kind="gauge")
slow_consumer_disconnects = Counter(
    "chat_slow_consumer_disconnects_total", "Sockets aborted for not reading."
)

asyncio_tasks = Counter(
    "chat_asyncio_tasks", "asyncio tasks alive in this process.", kind="gauge"
)

ALL = [open_sockets, slow_consumer_disconnects, asyncio_tasks]


def render() -> str:
    lines = []
    for metric in ALL:
        lines.append(f"# HELP {metric.name} {metric.help}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        if metric.labelled:
            for label, value in sorted(metric.labelled.items()):
                lines.append(f'{metric.name}{{code="{label}"}} {value}')
        else:
            lines.append(f"{metric.name} {metric.value}")
    return "\n".join(lines) + "\n"
