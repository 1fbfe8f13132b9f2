"""Process-wide counters, gauges and a histogram, in Prometheus text format at /metrics.

Dependency-free on purpose: a few types and a renderer. Each server process reports
its own; Prometheus sums them across processes. What each metric means, and how to
read it, is in docs/operations.md. This module only counts; callers decide when.
"""

import os
import resource
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator

_PROC_STATM = "/proc/self/statm"
_PROC_FDS = "/proc/self/fd"


def _escape(value: str) -> str:
    """A label value as the text format wants it: backslash, quote, newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    if not names:
        return ""
    pairs = ",".join(
        f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True)
    )
    return "{" + pairs + "}"


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if value == float("inf"):
        return "+Inf"
    return repr(float(value))


class _Value:
    """One series' number. inc() takes a lock: services count from worker threads
    (database_sync_to_async), and Python does not promise that `+=` on an attribute
    is atomic (free-threaded builds break it). Uncontended, the lock costs ~0.1 µs."""

    __slots__ = ("value", "_lock")

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def inc(self, amount: int = 1) -> None:
        with self._lock:
            self.value += amount

    def dec(self, amount: int = 1) -> None:
        with self._lock:
            self.value -= amount

    def set(self, value: float) -> None:
        self.value = value


class _LoopValue(_Value):
    """A series counted only on the event loop's thread (delivery, once per
    recipient of every message): no lock, like Histogram.observe."""

    __slots__ = ()

    def inc(self, amount: int = 1) -> None:
        self.value += amount


class Counter:
    """A count that only grows (until the process restarts), optionally labelled.

    Unlabelled: `counter.inc()`. Labelled: `counter.labels("websocket", "bad_json")`
    returns that series (created on first use; hold on to it on hot paths) and
    `.inc()` counts on it. Label values must come from a small fixed set (codes,
    kinds), never from user input: every distinct value is a series forever.
    """

    kind = "counter"

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: tuple[str, ...] = (),
        *,
        loop_only: bool = False,
    ):
        self.name, self.help, self.labelnames = name, help, labelnames
        # loop_only: counted only on the event loop's thread, never from the
        # database threads; then inc() takes no lock.
        self._value_class = _LoopValue if loop_only else _Value
        self._series: dict[tuple[str, ...], _Value] = {}
        self._lock = threading.Lock()
        self._unlabelled = None if labelnames else self._value_class()

    def labels(self, *values: str) -> _Value:
        if len(values) != len(self.labelnames):
            raise ValueError(
                f"{self.name} takes labels {self.labelnames}, got {values}"
            )
        series = self._series.get(values)
        if series is None:
            with self._lock:
                series = self._series.setdefault(values, self._value_class())
        return series

    @property
    def value(self) -> float:
        return self._unlabelled.value

    def inc(self, amount: int = 1) -> None:
        self._unlabelled.inc(amount)

    def samples(self) -> Iterator[tuple[str, str, float]]:
        """(name suffix, label text, value) for each series."""
        if self._unlabelled is not None:
            yield "", "", self._unlabelled.value
            return
        for values, series in sorted(self._series.items()):
            yield "", _labels(self.labelnames, values), series.value


class Gauge(Counter):
    """A number that goes up and down (open sockets), or is set when scraped."""

    kind = "gauge"

    def dec(self, amount: int = 1) -> None:
        self._unlabelled.dec(amount)

    def set(self, value: float) -> None:
        self._unlabelled.set(value)


class Histogram:
    """Observations counted into fixed buckets, with their sum and count.

    observe() is for the event loop's thread only, and is kept to a bisect into a
    tuple and two additions, with no container built per call: it runs once per
    recipient of every message. The count is not kept separately; it is the sum of
    the buckets, added up when scraped.
    """

    kind = "histogram"
    __slots__ = ("name", "help", "bounds", "counts", "sum")

    def __init__(self, name: str, help: str, buckets: tuple[float, ...]):
        if list(buckets) != sorted(set(buckets)):
            raise ValueError("buckets must be increasing and distinct")
        self.name, self.help = name, help
        self.bounds = tuple(float(bound) for bound in buckets)
        # One more slot than bounds: observations above the last bound (le="+Inf").
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bucket (le is <=).
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def observe_since(self, started_at: float | None) -> None:
        """Observe the wall-clock seconds since `started_at` (a time.time() taken
        perhaps in another process). Skipped when absent, as in an event sent by an
        older server during a rolling deploy; clamped at 0 when clocks disagree."""
        if started_at is None:
            return
        elapsed = time.time() - started_at
        if elapsed < 0.0:
            elapsed = 0.0
        # observe(), inlined: this runs once per recipient of every message.
        self.counts[bisect_left(self.bounds, elapsed)] += 1
        self.sum += elapsed

    @property
    def count(self) -> int:
        return sum(self.counts)

    def samples(self) -> Iterator[tuple[str, str, float]]:
        counts = list(self.counts)  # one snapshot: buckets, +Inf and count agree
        cumulative = 0
        for bound, count in zip(self.bounds, counts, strict=False):
            cumulative += count
            yield "_bucket", f'{{le="{_number(bound)}"}}', cumulative
        cumulative += counts[-1]
        yield "_bucket", '{le="+Inf"}', cumulative
        yield "_sum", "", self.sum
        yield "_count", "", cumulative


class Sampled:
    """A number read when scraped (resident memory, CPU time); None means unknown
    here (no /proc), and the metric is left out rather than reported as 0."""

    def __init__(self, name: str, help: str, kind: str, read: Callable[[], float]):
        self.name, self.help, self.kind, self.read = name, help, kind, read

    def samples(self) -> Iterator[tuple[str, str, float]]:
        try:
            value = self.read()
        except OSError:
            return
        if value is not None:
            yield "", "", value


def _resident_memory_bytes() -> int | None:
    if not os.path.exists(_PROC_STATM):
        return None
    with open(_PROC_STATM) as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def _cpu_seconds() -> float:
    # times(2), the same user and system time /proc/self/stat holds, on any POSIX.
    times = os.times()
    return times.user + times.system


def _open_fds() -> int | None:
    if not os.path.isdir(_PROC_FDS):
        return None
    return len(os.listdir(_PROC_FDS))


def _max_fds() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---- the chat's metrics -------------------------------------------------------------

open_sockets = Gauge("chat_open_sockets", "Open chat sockets.")
asyncio_tasks = Gauge("chat_asyncio_tasks", "asyncio tasks alive in this process.")

messages_stored = Counter(
    "chat_messages_stored_total", "Messages committed to the database."
)
messages_delivered = Counter(
    "chat_messages_delivered_total",
    "message.new frames sent to sockets: live (relayed from the channel layer), "
    "replay (asked for with since), repair (read from the database to fill a gap or "
    "answer a resend).",
    labelnames=("kind",),
    loop_only=True,
)
# The series the consumer counts on, bound once: no label lookup per frame.
delivered_live = messages_delivered.labels("live")
delivered_replay = messages_delivered.labels("replay")
delivered_repair = messages_delivered.labels("repair")

# From a few milliseconds (one process, idle) to seconds (a backlog in Redis, or a
# consumer that cannot keep up); anything past 10 s is an outage in all but name.
BROADCAST_LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
broadcast_latency = Histogram(
    "chat_broadcast_latency_seconds",
    "Seconds from a new message's event being handed to the channel layer to a "
    "consumer relaying it to its socket, one observation per recipient socket.",
    BROADCAST_LATENCY_BUCKETS,
)
broadcast_failures = Counter(
    "chat_broadcast_failures_total",
    "Events the channel layer refused (group_send raised), by event type.",
    labelnames=("event",),
)
direct_fanout = Counter(
    "chat_direct_fanout_total",
    "Live message frames the hub wrote straight to an idle, in-order socket "
    "(chat.delivery), also counted in chat_messages_delivered_total.",
    loop_only=True,
)
inbox_overflows = Counter(
    "chat_inbox_overflows_total",
    "Events a socket's inbox dropped because its consumer had fallen "
    "CHAT_SOCKET_INBOX_LIMIT events behind (messages are repaired from the database).",
)
delivery_failures = Counter(
    "chat_delivery_failures_total",
    "Sockets closed because delivering an event to them failed unexpectedly.",
)
layer_gaps_repaired = Counter(
    "chat_layer_gaps_repaired_total",
    "Live events that showed a socket had missed earlier messages (dropped by the "
    "layer, or still on their way from another process), which it then read from "
    "the database.",
)
slow_consumer_disconnects = Counter(
    "chat_slow_consumer_disconnects_total", "Sockets aborted for not reading."
)
errors = Counter(
    "chat_errors_total",
    "Error answers by transport (websocket error frames, http REST error "
    "responses) and contract error code.",
    labelnames=("transport", "code"),
)

process_metrics = [
    Sampled(
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        "gauge",
        _resident_memory_bytes,
    ),
    Sampled(
        "process_cpu_seconds_total",
        "User and system CPU time spent, in seconds.",
        "counter",
        _cpu_seconds,
    ),
    Sampled("process_open_fds", "Open file descriptors.", "gauge", _open_fds),
    Sampled("process_max_fds", "Limit on open file descriptors.", "gauge", _max_fds),
]

ALL = [
    open_sockets,
    asyncio_tasks,
    messages_stored,
    messages_delivered,
    broadcast_latency,
    broadcast_failures,
    direct_fanout,
    inbox_overflows,
    delivery_failures,
    layer_gaps_repaired,
    slow_consumer_disconnects,
    errors,
    *process_metrics,
]


def render(metrics=None) -> str:
    """The Prometheus text exposition (version 0.0.4) of `metrics` (default: ALL)."""
    lines = []
    for metric in ALL if metrics is None else metrics:
        samples = list(metric.samples())
        if not samples and isinstance(metric, Sampled):
            continue
        lines.append(f"# HELP {metric.name} {metric.help}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for suffix, labels, value in samples:
            lines.append(f"{metric.name}{suffix}{labels} {_number(value)}")
    return "\n".join(lines) + "\n"
