"""Turn a bench/run.py result file into Markdown tables and an SVG plot.

    .venv/bin/python bench/report.py bench/results/all-YYYYMMDD-HHMMSS.json \
        [--plot docs/benchmark-s1-latency.svg]

Prints the tables for docs/benchmarks.md; the plot is p50 and p99 latency against the
offered rate for each target of S1 (a plain SVG, no plotting library needed). When a
scenario ran several targets (`ours@REF,ours`: a same-run before and after), a
summary gives each one's highest clean messages/s and its ratio to the first
`ours@...` target (the first target when there is none).
"""

import argparse
import json
from pathlib import Path

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]


def best(phases: list[dict], key: str = "deliveries_per_s"):
    clean = [p for p in phases if p["clean"]]
    return max((p[key] for p in clean), default=None)


def ladder_table(phases_by_target: dict[str, list[dict]]) -> str:
    lines = [
        "| target | msg/s | deliveries/s offered | received | loss % | p50 ms "
        "| p99 ms | server CPU % | server µs/delivery | load-gen CPU % | clean |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for target, phases in phases_by_target.items():
        for p in phases:
            lines.append(
                f"| {target} | {p['messages_per_s']:g} | {p['deliveries_per_s']:g} "
                f"| {p['received']} | {p['loss_pct']} | {p['p50_ms']} | {p['p99_ms']} "
                f"| {p['server_cpu_pct']} | {p['server_cpu_us_per_delivery']} "
                f"| {p['loadgen_cpu_pct']} | {'yes' if p['clean'] else '**no**'} |"
            )
    return "\n".join(lines)


def s1_summary(s1: dict) -> str:
    base = best(s1["tutorial"]["phases"]) if "tutorial" in s1 else None
    lines = [
        "| target | highest clean deliveries/s | ratio to tutorial |",
        "|---|---|---|",
    ]
    for target, result in s1.items():
        value = best(result["phases"])
        ratio = f"{value / base:.2f}x" if value and base else "n/a"
        lines.append(f"| {target} | {value} | {ratio} |")
    return "\n".join(lines)


def s2_table(s2: dict) -> str:
    lines = [
        "| target | rooms x clients | deliveries/s | p50 ms | p99 ms | server CPU % "
        "| server µs/delivery | clean |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for target, by_rooms in s2.items():
        for rooms, result in by_rooms.items():
            clients = 1000 // int(rooms)
            for p in result["phases"]:
                lines.append(
                    f"| {target} | {rooms} x {clients} | {p['deliveries_per_s']:g} "
                    f"| {p['p50_ms']} | {p['p99_ms']} | {p['server_cpu_pct']} "
                    f"| {p['server_cpu_us_per_delivery']} "
                    f"| {'yes' if p['clean'] else '**no**'} |"
                )
    return "\n".join(lines)


def s3_table(s3: dict) -> str:
    lines = [
        "| target | sockets | failed | connect s | connects/s | RSS before MB "
        "| RSS after MB | KiB per socket | idle server CPU % |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for target, by_size in s3.items():
        for r in by_size.values():
            lines.append(
                f"| {target} | {r['sockets']} | {r['failed']} | {r['connect_seconds']} "
                f"| {r['connects_per_s']} | {r['rss_before_mb']} | {r['rss_after_mb']} "
                f"| {r['kib_per_socket']} | {r['idle_server_cpu_pct']} |"
            )
    return "\n".join(lines)


def s4_table(s4: dict) -> str:
    lines = [
        "| target | msg/s offered | stored | deliveries/s | p50 ms | p99 ms "
        "| server CPU % | clean |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for target, result in s4.items():
        for p in result["phases"]:
            lines.append(
                f"| {target} | {p['messages_per_s']:g} | {p.get('stored', 'n/a')} "
                f"| {p['deliveries_per_s']:g} | {p['p50_ms']} | {p['p99_ms']} "
                f"| {p['server_cpu_pct']} | {'yes' if p['clean'] else '**no**'} |"
            )
    return "\n".join(lines)


def write_table(result_by_target: dict, readers: bool = False) -> str:
    """W1 and W2, one row per step. With `readers` (W2) p50 and p99 are those of
    the clients that send nothing, the senders' own latency being the ack's."""
    who = "readers " if readers else ""
    lines = [
        f"| target | msg/s offered | stored | deliveries/s | loss % | {who}p50 ms "
        f"| {who}p99 ms | ack p99 ms | server CPU % | server µs/message | clean |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    p50, p99 = ("readers_p50_ms", "readers_p99_ms") if readers else ("p50_ms", "p99_ms")
    for target, result in result_by_target.items():
        for p in result["phases"]:
            lines.append(
                f"| {target} | {p['messages_per_s']:g} | {p.get('stored', 'n/a')} "
                f"| {p['deliveries_per_s']:g} | {p['loss_pct']} | {p.get(p50)} "
                f"| {p.get(p99)} | {p.get('ack_p99_ms')} | {p['server_cpu_pct']} "
                f"| {p.get('server_cpu_us_per_message', 'n/a')} "
                f"| {'yes' if p['clean'] else '**no**'} |"
            )
    return "\n".join(lines)


def ladders_of(scenario: str, results: dict) -> dict[str, dict[str, list[dict]]]:
    """{row label: {target: phases}} for the scenarios that climb a ladder."""
    if scenario == "s2":
        rows: dict[str, dict[str, list[dict]]] = {}
        for target, by_rooms in results.items():
            for rooms, result in by_rooms.items():
                rows.setdefault(f"S2, {rooms} rooms", {})[target] = result["phases"]
        return rows
    return {scenario.upper(): {t: r["phases"] for t, r in results.items()}}


def before_after(merged: dict) -> str | None:
    """Best clean messages/s per target and scenario, as a ratio to the first
    `ours@REF` target of the scenario (else its first target); only scenarios run
    against several targets."""
    lines = []
    for scenario in ("s1", "s2", "s4", "w1", "w2"):
        if len(merged.get(scenario, {})) < 2:
            continue
        for label, by_target in ladders_of(scenario, merged[scenario]).items():
            targets = list(by_target)
            base = next((t for t in targets if t.startswith("ours@")), targets[0])
            base_value = best(by_target[base], "messages_per_s")
            for target in targets:
                value = best(by_target[target], "messages_per_s")
                ratio = f"{value / base_value:.2f}x" if value and base_value else "n/a"
                lines.append(f"| {label} | {target} | {value} | {ratio} | {base} |")
    if not lines:
        return None
    header = [
        "| scenario | target | highest clean msg/s | ratio | ratio to |",
        "|---|---|---|---|---|",
    ]
    return "\n".join(header + lines)


def s5_table(s5: dict) -> str:
    lines = [
        "| target | clients | failed | all subscribed after s | all caught up after s "
        "| caught up | replayed | server CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for target, r in s5.items():
        lines.append(
            f"| {target} | {r['clients']} | {r['failed']} "
            f"| {r['seconds_all_subscribed']} | {r['seconds_all_caught_up']} "
            f"| {r['clients_caught_up']} | {r['replayed_messages']} "
            f"| {r['server_cpu_seconds']} |"
        )
    return "\n".join(lines)


def svg_plot(s1: dict, title: str) -> str:
    """p50 (dashed) and p99 (solid) latency against offered deliveries/s."""
    width, height, left, bottom, top, right = 800, 420, 70, 50, 40, 250
    series = {t: r["phases"] for t, r in s1.items() if r["phases"]}
    xs = [p["deliveries_per_s"] for ps in series.values() for p in ps]
    ys = [p["p99_ms"] or 0 for ps in series.values() for p in ps]
    x_max = max(xs) * 1.05
    y_max = max(max(ys), 300) * 1.05

    def x(value):
        return left + (width - left - right) * value / x_max

    def y(value):
        return height - bottom - (height - bottom - top) * value / y_max

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2 - 100}" y="20" font-size="14">{title}</text>',
        f'<line x1="{left}" y1="{y(0)}" x2="{x(x_max)}" y2="{y(0)}" stroke="black"/>',
        f'<line x1="{left}" y1="{y(0)}" x2="{left}" y2="{y(y_max)}" stroke="black"/>',
        f'<line x1="{left}" y1="{y(250)}" x2="{x(x_max)}" y2="{y(250)}" '
        'stroke="#999" stroke-dasharray="2,3"/>',
        f'<text x="{x(x_max) - 90}" y="{y(250) - 4}" fill="#666">'
        "p99 limit 250 ms</text>",
        f'<text x="{(width - right) / 2}" y="{height - 10}">'
        "offered deliveries per second</text>",
        f'<text x="15" y="{height / 2}" transform="rotate(-90 15 {height / 2})">'
        "latency, ms</text>",
    ]
    for step in range(6):
        value = x_max * step / 5
        parts.append(f'<text x="{x(value) - 15}" y="{y(0) + 18}">{value:,.0f}</text>')
        value_y = y_max * step / 5
        parts.append(f'<text x="{left - 45}" y="{y(value_y) + 4}">{value_y:.0f}</text>')
    for index, (target, phases) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        for key, dash in (("p99_ms", ""), ("p50_ms", ' stroke-dasharray="5,4"')):
            points = " ".join(
                f"{x(p['deliveries_per_s']):.1f},{y(min(p[key] or 0, y_max)):.1f}"
                for p in phases
            )
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dash}/>'
            )
        for p in phases:
            mark = "circle" if p["clean"] else "rect"
            px, py = x(p["deliveries_per_s"]), y(min(p["p99_ms"] or 0, y_max))
            if mark == "circle":
                parts.append(f'<circle cx="{px}" cy="{py}" r="3" fill="{colour}"/>')
            else:
                parts.append(
                    f'<rect x="{px - 4}" y="{py - 4}" width="8" height="8" '
                    f'fill="white" stroke="{colour}"/>'
                )
        legend_y = top + 20 + index * 20
        legend_x = width - right + 10
        parts.append(
            f'<line x1="{legend_x}" y1="{legend_y}" x2="{legend_x + 20}" '
            f'y2="{legend_y}" stroke="{colour}" stroke-width="2"/>'
        )
        parts.append(
            f'<text x="{width - right + 35}" y="{legend_y + 4}">{target}</text>'
        )
    legend_y = top + 20 + len(series) * 20 + 10
    parts.append(
        f'<text x="{width - right + 10}" y="{legend_y}" fill="#444">solid: p99, '
        "dashed: p50</text>"
    )
    parts.append(
        f'<text x="{width - right + 10}" y="{legend_y + 16}" fill="#444">'
        "square: not clean</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", help="result files; later ones win")
    parser.add_argument("--plot", help="write the S1 latency plot (SVG) here")
    options = parser.parse_args()
    merged: dict = {}
    for path in options.results:
        merged.update(json.loads(Path(path).read_text()))
    if "s1" in merged:
        print("### S1\n")
        print(s1_summary(merged["s1"]) + "\n")
        print(ladder_table({t: r["phases"] for t, r in merged["s1"].items()}) + "\n")
        if options.plot:
            Path(options.plot).write_text(
                svg_plot(merged["s1"], "S1: one room of 500, latency against rate")
            )
    if "s2" in merged:
        print("### S2\n\n" + s2_table(merged["s2"]) + "\n")
    if "s3" in merged:
        print("### S3\n\n" + s3_table(merged["s3"]) + "\n")
    if "s4" in merged:
        print("### S4\n\n" + s4_table(merged["s4"]) + "\n")
    if "s5" in merged:
        print("### S5\n\n" + s5_table(merged["s5"]) + "\n")
    if "w1" in merged:
        print("### W1\n\n" + write_table(merged["w1"]) + "\n")
    if "w2" in merged:
        print("### W2\n\n" + write_table(merged["w2"], readers=True) + "\n")
    summary = before_after(merged)
    if summary:
        print("### Same-run before/after\n\n" + summary + "\n")


if __name__ == "__main__":
    main()
