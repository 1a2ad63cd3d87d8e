"""bench_peers.py's results -> tests/bench/results/<date>.json, .md (tables, ratios, goals)
and .png."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drain import Drain
from latency import Latency
from systems import Prefill

Outcomes = list[dict[str, Any]]  # [{"ok": Drain | Latency} | {"failed": reason}]


def _ok(outcomes: Outcomes) -> list[Any]:
    return [o["ok"] for o in outcomes if "ok" in o]


def summarise_system(label: str, outcomes: Outcomes) -> dict[str, Any]:
    drains: list[Drain] = _ok(outcomes)
    row: dict[str, Any] = {
        "label": label,
        "runs": [
            {"ok": o["ok"].as_dict()} if "ok" in o else {"failed": o["failed"]} for o in outcomes
        ],
        "ok_runs": len(drains),
        "failed_runs": len(outcomes) - len(drains),
    }
    if drains:
        by_rate = sorted(drains, key=lambda d: d.events_per_s)
        rss = [d.rss_mib for d in drains if d.rss_mib]
        row |= {
            "events_per_s": statistics.median(d.events_per_s for d in drains),
            "cpu_s_per_1k": statistics.median(d.cpu_per_1k for d in drains),
            "rss_mib": max(rss) if rss else None,
            "lower_bound": any(d.lower_bound for d in drains),
            "median_run_shares": by_rate[(len(by_rate) - 1) // 2].shares,
        }
    return row


def summarise_latency(outcomes: Outcomes) -> dict[str, Any] | None:
    runs: list[Latency] = _ok(outcomes)
    if not outcomes:
        return None
    out: dict[str, Any] = {
        "runs": [
            {"ok": o["ok"].as_dict()} if "ok" in o else {"failed": o["failed"]} for o in outcomes
        ]
    }
    if runs:
        out |= {
            "rate": runs[0].rate,
            "p50_ms": statistics.median(r.quantile_ms(50) for r in runs),
            "p99_ms": statistics.median(r.quantile_ms(99) for r in runs),
            "missing_alerts": sum(r.missing for r in runs),
            "expected_alerts": sum(r.expected for r in runs),
        }
    return out


def _ratio(rows: Mapping[str, Any], a: str, b: str, field: str = "events_per_s") -> float | None:
    x, y = rows.get(a, {}).get(field), rows.get(b, {}).get(field)
    return x / y if x is not None and y else None


def _fmt(value: float | None, pattern: str) -> str:
    return "not measured" if value is None or math.isnan(value) else pattern.format(value)


def ratios_and_goals(
    rows: Mapping[str, Any], latency: dict[str, Any] | None
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    raws = [rows.get(k, {}).get("events_per_s") for k in ("raw-consumer", "raw-influx")]
    lower = min(r for r in raws if r is not None) if any(r is not None for r in raws) else None
    on = rows.get("sw1-on", {}).get("events_per_s")
    of_raw = on / lower if on is not None and lower else None
    tg, plain, quix = (_ratio(rows, "sw1-on", k) for k in ("telegraf", "plain", "quix"))
    cpu = _ratio(rows, "sw1-on", "telegraf", "cpu_s_per_1k")
    p50 = latency.get("p50_ms") if latency else None
    p99 = latency.get("p99_ms") if latency else None
    missing = latency.get("missing_alerts", 0) if latency else 0
    rss = rows.get("sw1-on", {}).get("rss_mib")
    ratios = {
        "sovwatch (1 worker, rules on) / Telegraf": _fmt(tg, "{:.2f}x"),
        "sovwatch (1 worker, rules on) / plain loop": _fmt(plain, "{:.2f}x"),
        "sovwatch (1 worker, rules on) / Quix Streams": _fmt(quix, "{:.2f}x"),
        "sovwatch (1 worker, rules on) / lower raw limit": _fmt(
            None if of_raw is None else 100 * of_raw, "{:.1f} %"
        ),
        "CPU per event, sovwatch (1 worker, rules on) / Telegraf": _fmt(cpu, "{:.2f}x"),
        "sovwatch rules on / rules off (1 worker)": _fmt(
            _ratio(rows, "sw1-on", "sw1-off"), "{:.2f}x"
        ),
        "sovwatch 2 workers / 1 worker (rules on)": _fmt(
            _ratio(rows, "sw2-on", "sw1-on"), "{:.2f}x"
        ),
        "event -> alert latency, p50 / p99 (ms)": (
            f"{_fmt(p50, '{:,.0f}')} / {_fmt(p99, '{:,.0f}')}"
            + (f" ({missing:,} alerts missing)" if missing else "")
        ),
    }

    def goal(name: str, measured: str, met: bool | None) -> dict[str, Any]:
        return {"goal": name, "measured": measured, "met": met}

    rate = latency.get("rate", 5000) if latency else 5000
    goals = [
        goal(
            ">= 1.0x Telegraf (1 worker, rules on)",
            ratios[next(iter(ratios))],
            None if tg is None else tg >= 1.0,
        ),
        goal(
            "ahead of the plain loop and Quix Streams",
            f"{_fmt(plain, '{:.2f}x')} / {_fmt(quix, '{:.2f}x')}",
            None if plain is None or quix is None else plain > 1.0 and quix > 1.0,
        ),
        goal(
            ">= 80 % of the lower raw limit",
            ratios["sovwatch (1 worker, rules on) / lower raw limit"],
            None if of_raw is None else of_raw >= 0.8,
        ),
        goal(
            "CPU per event <= Telegraf's",
            _fmt(cpu, "{:.2f}x Telegraf's"),
            None if cpu is None else cpu <= 1.0,
        ),
        goal(
            f"p99 event -> alert <= 200 ms at {rate:,} ev/s",
            _fmt(p99, "{:,.0f} ms") + (f", {missing:,} alerts missing" if missing else ""),
            None if p99 is None else p99 <= 200 and not missing,
        ),
        goal(
            "worker RSS <= 300 MiB (1 worker, rules on, peak)",
            _fmt(rss, "{:,.0f} MiB"),
            None if rss is None else rss <= 300,
        ),
    ]
    return ratios, goals


def _met(value: bool | None) -> str:
    return "not measured" if value is None else "met" if value else "not met"


def _shares_table(rows: Mapping[str, Any]) -> list[str]:
    keys = [k for k in ("sw2-on", "sw1-on") if rows.get(k, {}).get("median_run_shares")]
    if not keys:
        return []
    cores = os.cpu_count() or 1
    names: list[str] = []
    for k in keys:
        names += [n for n in rows[k]["median_run_shares"] if n not in names]
    lines = [
        "",
        f"CPU shares over the median run's drain window, % of all {cores} cores "
        "(user+sys from /proc; 'rest of the machine' is every other process, e.g. other users):",
        "",
        "| process | " + " | ".join(rows[k]["label"] for k in keys) + " |",
        "| --- |" + " ---: |" * len(keys),
    ]
    for name in names:
        cells = [rows[k]["median_run_shares"].get(name) for k in keys]
        lines.append(
            f"| {name} | " + " | ".join("-" if c is None else f"{c:.1f}" for c in cells) + " |"
        )
    return lines


def _system_lines(rows: Mapping[str, Any]) -> list[str]:
    lines = [
        "| system | events/s (median) | runs (events/s) | CPU s / 1k events (median) "
        "| peak RSS (MiB) |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    for row in rows.values():
        runs = ", ".join(
            f"{r['ok']['events_per_s']:,.0f}" if "ok" in r else "FAILED" for r in row["runs"]
        )
        if "events_per_s" not in row:
            lines.append(f"| {row['label']} | FAILED | {runs} | - | - |")
            continue
        flag = (
            " (lower bound: timed from spawn, its assignment was not seen before its first commit)"
            if row["lower_bound"]
            else ""
        )
        rss = f"{row['rss_mib']:,.0f}" if row.get("rss_mib") else "-"
        lines.append(
            f"| {row['label']}{flag} | {row['events_per_s']:,.0f} | {runs} "
            f"| {row['cpu_s_per_1k']:.3f} | {rss} |"
        )
    return lines


def _failures(rows: Mapping[str, Any], latency: dict[str, Any] | None) -> list[str]:
    out = []
    for row in rows.values():
        for i, run in enumerate(row["runs"]):
            if "failed" in run:
                out.append(f"- {row['label']} run {i + 1}: FAILED: {run['failed']}")
    for i, run in enumerate((latency or {}).get("runs", [])):
        if "failed" in run:
            out.append(f"- latency run {i + 1}: FAILED: {run['failed']}")
    return ["", "Failed runs:", "", *out] if out else []


def write_report(
    args: argparse.Namespace,
    data: Prefill,
    labels: Mapping[str, str],
    results: Mapping[str, Outcomes],
    latency_runs: Outcomes,
    profile: list[tuple[str, float]] | None,
) -> Path:
    rows = {key: summarise_system(labels[key], results[key]) for key in results}
    latency = summarise_latency(latency_runs)
    ratios, goals = ratios_and_goals(rows, latency)
    machine = f"{os.cpu_count()} cores, Python {platform.python_version()}"
    mix = ", ".join(f"{n:,} {f}" for f, n in data.events.items())
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["tests/bench/bench_peers.py", *sys.argv[1:]]),
        "machine": machine,
        "events": data.total,
        "mix": mix,
        "runs": args.runs,
        "systems": rows,
        "latency": latency,
        "ratios": ratios,
        "goals": goals,
        "profile": profile,
    }
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / datetime.now(UTC).strftime("%Y-%m-%d")
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str))
    chart(
        rows, f"{data.total:,} simulated events, 4 partitions, {machine}", stem.with_suffix(".png")
    )
    lines = [
        f"# Peer benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"{data.total:,} simulated events ({mix}), 4 partitions, {machine}; medians of "
        f"{args.runs} runs per system, run round-robin. Command: `{report['command']}`. "
        "CPU = user+sys of the system's own processes (children included) over the timed "
        "window; raw limits run inside the bench process.",
        "",
        *_system_lines(rows),
        "",
        "| ratio | value |",
        "| --- | ---: |",
        *(f"| {k} | {v} |" for k, v in ratios.items()),
        "",
        "| goal (sovwatch, 1 worker, all rules on) | measured | |",
        "| --- | --- | --- |",
        *(f"| {g['goal']} | {g['measured']} | {_met(g['met'])} |" for g in goals),
        *_shares_table(rows),
        *_failures(rows, latency),
    ]
    if profile:
        lines += ["", "py-spy, one worker draining with rules on, share of samples:", ""]
        lines += ["| where | % |", "| --- | ---: |"]
        lines += [f"| `{name}` | {share:.1f} |" for name, share in profile]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return stem.with_suffix(".md")


def chart(rows: Mapping[str, Any], title: str, path: Path) -> None:
    import matplotlib
    import matplotlib.patches

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = {k: r for k, r in rows.items() if "events_per_s" in r}
    if not measured:
        return
    names = [r["label"] for r in measured.values()]
    medians = [r["events_per_s"] for r in measured.values()]
    spans = [
        [run["ok"]["events_per_s"] for run in r["runs"] if "ok" in run] for r in measured.values()
    ]
    colours = [
        "#9e9e9e" if k.startswith("raw") else "#1f77b4" if k.startswith("sw") else "#ff7f0e"
        for k in measured
    ]
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(names) + 1.8))
    y = list(range(len(names)))[::-1]
    left = 10 ** int(math.log10(min(medians)))  # bars start at a round power of ten
    ax.barh(y, [m - left for m in medians], left=left, color=colours)
    for yi, m, span in zip(y, medians, spans, strict=True):
        ax.plot([min(span), max(span)], [yi, yi], color="black", linewidth=1.2)
        ax.text(max(span) * 1.08, yi, f"{m:,.0f}", va="center", fontsize=9)
    ax.set_yticks(y, names, fontsize=9)
    ax.set_xscale("log")
    ax.set_xlim(left, max(max(s) for s in spans) * 3)
    ax.set_xlabel("events/s, log scale (bar = median of runs, black line = min..max)")
    ax.set_title(f"Kafka -> InfluxDB, {title}", fontsize=10)
    handles = [
        matplotlib.patches.Patch(color=c, label=label)
        for c, label in (
            ("#9e9e9e", "raw limit"),
            ("#1f77b4", "sovwatch"),
            ("#ff7f0e", "peer, no rules"),
        )
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
