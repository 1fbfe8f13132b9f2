"""The Prometheus text renderer: histograms, labelled counters, process metrics."""

from pathlib import Path

import pytest

from chat import metrics
from tests.prometheus import parse


def test_histogram_renders_cumulative_buckets_inf_sum_and_count():
    histogram = metrics.Histogram("t_seconds", "Test.", (0.1, 0.5, 1.0))
    for value in (0.05, 0.1, 0.3, 0.7, 3.0):
        histogram.observe(value)
    text = metrics.render([histogram])
    assert text.splitlines() == [
        "# HELP t_seconds Test.",
        "# TYPE t_seconds histogram",
        't_seconds_bucket{le="0.1"} 2',  # 0.05, and 0.1 itself (le means <=)
        't_seconds_bucket{le="0.5"} 3',
        't_seconds_bucket{le="1.0"} 4',
        't_seconds_bucket{le="+Inf"} 5',
        f"t_seconds_sum {0.05 + 0.1 + 0.3 + 0.7 + 3.0!r}",
        "t_seconds_count 5",
    ]


def test_empty_histogram_renders_zero_buckets():
    histogram = metrics.Histogram("t_seconds", "Test.", (1.0,))
    samples = parse(metrics.render([histogram]))
    assert samples == {
        't_seconds_bucket{le="1.0"}': 0,
        't_seconds_bucket{le="+Inf"}': 0,
        "t_seconds_sum": 0,
        "t_seconds_count": 0,
    }


def test_histogram_refuses_unsorted_buckets():
    with pytest.raises(ValueError):
        metrics.Histogram("t", "Test.", (1.0, 0.5))


def test_observe_since_clamps_a_clock_ahead_and_skips_a_missing_start():
    histogram = metrics.Histogram("t", "Test.", (0.5,))
    histogram.observe_since(None)  # an event from a server without sent_at
    assert histogram.count == 0
    histogram.observe_since(10**12)  # a sender whose clock runs far ahead
    assert histogram.counts == [1, 0]
    assert histogram.sum == 0.0


def test_labelled_counter_names_its_labels_and_escapes_values():
    counter = metrics.Counter("t_total", "Test.", labelnames=("transport", "code"))
    counter.labels("websocket", "bad_json").inc()
    counter.labels("websocket", "bad_json").inc(2)
    counter.labels("http", 'we"ird\\').inc()
    assert metrics.render([counter]).splitlines()[2:] == [
        't_total{transport="http",code="we\\"ird\\\\"} 1',
        't_total{transport="websocket",code="bad_json"} 3',
    ]
    with pytest.raises(ValueError):
        counter.labels("websocket")


def test_unlabelled_counter_starts_at_zero():
    counter = metrics.Counter("t_total", "Test.")
    assert metrics.render([counter]).splitlines() == [
        "# HELP t_total Test.",
        "# TYPE t_total counter",
        "t_total 0",
    ]


def test_every_chat_metric_is_rendered_with_its_type():
    samples = parse(metrics.render())
    text = metrics.render()
    for name, kind in [
        ("chat_open_sockets", "gauge"),
        ("chat_asyncio_tasks", "gauge"),
        ("chat_messages_stored_total", "counter"),
        ("chat_messages_delivered_total", "counter"),
        ("chat_broadcast_latency_seconds", "histogram"),
        ("chat_broadcast_failures_total", "counter"),
        ("chat_layer_gaps_repaired_total", "counter"),
        ("chat_slow_consumer_disconnects_total", "counter"),
        ("chat_errors_total", "counter"),
    ]:
        assert f"# TYPE {name} {kind}\n" in text
    for kind in ("live", "replay", "repair"):
        assert f'chat_messages_delivered_total{{kind="{kind}"}}' in samples


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_process_metrics_read_from_this_process():
    samples = parse(metrics.render())
    with open("/proc/self/status") as status:
        vm_rss_kib = next(
            int(line.split()[1]) for line in status if line.startswith("VmRSS:")
        )
    # Read a moment apart, so allow the resident size to move a little.
    assert samples["process_resident_memory_bytes"] == pytest.approx(
        vm_rss_kib * 1024, rel=0.2
    )
    assert samples["process_cpu_seconds_total"] > 0
    assert 3 <= samples["process_open_fds"] <= samples["process_max_fds"]
