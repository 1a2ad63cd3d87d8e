"""The human-readable summary of an evidence bundle: one self-contained HTML file.

Charts are inline SVG drawn here (no JavaScript, no CDN, no server), so the file opens from the
zip in any browser, offline, and prints. Everything shown is escaped: record values are data.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Final

from agents.audit.checkpoints import Checkpoint
from agents.audit.records import Record
from agents.audit.verify import HEADLINES, Report

PRIVILEGED: Final = ("admin_session_start", "support_session", "privileged_command")
MOVEMENT: Final = ("data_transfer", "replica_created")
COLOURS: Final = ("#1f6feb", "#d29922", "#8957e5", "#2da44e", "#cf222e", "#57606a")

STATUS_COLOURS: Final = {"intact": "#2da44e", "unsigned": "#9a6700", "tampering": "#cf222e"}


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def record_time(record: Record) -> datetime:
    """The point time of a record (UTC, microseconds)."""
    return datetime.fromtimestamp(int(record.get("time_ns", 0)) / 1e9, UTC)


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, float]],
    colour: str = COLOURS[0],
    unit: str = "",
    label_w: int = 150,
) -> str:
    """Horizontal bars: one per label, value printed at the end."""
    if not bars:
        return f'<figure><figcaption>{_esc(title)}</figcaption><p class="none">none</p></figure>'
    row, width = 24, 420
    top = max(value for _, value in bars) or 1
    height = row * len(bars) + 8
    parts = [
        f'<svg role="img" aria-label="{_esc(title)}" width="{label_w + width + 60}" '
        f'height="{height}" viewBox="0 0 {label_w + width + 60} {height}">'
    ]
    for i, (label, value) in enumerate(bars):
        y = 4 + i * row
        w = max(1.0, width * value / top)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_esc(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{colour}"><title>{_esc(label)}: {value:g}{unit}</title></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{value:g}{unit}</text>'
        )
    parts.append("</svg>")
    return f"<figure><figcaption>{_esc(title)}</figcaption>{''.join(parts)}</figure>"


def stacked_columns(
    title: str, buckets: Sequence[str], series: Mapping[str, Sequence[float]]
) -> str:
    """Columns over time (one per bucket), stacked by series, with a legend."""
    if not buckets or not any(any(v) for v in series.values()):
        return f'<figure><figcaption>{_esc(title)}</figcaption><p class="none">none</p></figure>'
    plot_w, plot_h, left, bottom = 640, 180, 40, 40
    n = len(buckets)
    step = min(48.0, plot_w / n)  # one lonely bucket stays a column, not a wall
    totals = [sum(values[i] for values in series.values()) for i in range(n)]
    top = max(totals) or 1
    parts = [
        f'<svg role="img" aria-label="{_esc(title)}" width="{left + plot_w + 10}" '
        f'height="{plot_h + bottom + 24}">',
        f'<line x1="{left}" y1="{plot_h}" x2="{left + plot_w}" y2="{plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="12" text-anchor="end">{top:g}</text>',
        f'<text x="{left - 4}" y="{plot_h}" text-anchor="end">0</text>',
    ]
    for i, bucket in enumerate(buckets):
        y = float(plot_h)
        for k, (name, values) in enumerate(series.items()):
            h = plot_h * values[i] / top
            if h:
                y -= h
                parts.append(
                    f'<rect x="{left + i * step + 1:.1f}" y="{y:.1f}" '
                    f'width="{max(1.0, step - 2):.1f}" height="{h:.1f}" '
                    f'fill="{COLOURS[k % len(COLOURS)]}"><title>{_esc(bucket)} '
                    f"{_esc(name)}: {values[i]:g}</title></rect>"
                )
        if n <= 12 or i % max(1, n // 8) == 0:
            parts.append(
                f'<text x="{left + i * step + step / 2:.1f}" y="{plot_h + 14}" '
                f'text-anchor="middle" class="small">{_esc(bucket)}</text>'
            )
    for k, name in enumerate(series):
        x = left + k * 170
        parts.append(
            f'<rect x="{x}" y="{plot_h + 26}" width="10" height="10" '
            f'fill="{COLOURS[k % len(COLOURS)]}"/>'
            f'<text x="{x + 14}" y="{plot_h + 35}">{_esc(name)}</text>'
        )
    parts.append("</svg>")
    return f"<figure><figcaption>{_esc(title)}</figcaption>{''.join(parts)}</figure>"


def _bucket_format(records: Sequence[Record]) -> str:
    """Days for long periods, hours for a few days, minutes for a few hours."""
    if not records:
        return "%Y-%m-%d"
    times = [record_time(r) for r in records]
    span = (max(times) - min(times)).total_seconds()
    return "%Y-%m-%d" if span > 2 * 86400 else "%m-%d %H:00" if span > 3 * 3600 else "%H:%M"


def _buckets(records: Sequence[Record]) -> tuple[list[str], str]:
    fmt = _bucket_format(records)
    return sorted({record_time(r).strftime(fmt) for r in records}), fmt


def violations(records: Iterable[Record]) -> Counter[str]:
    """Sovereignty exceptions visible in the records themselves (not the rule engine's alerts)."""
    found: Counter[str] = Counter()
    for r in records:
        action = r.get("action")
        moving = action in (*MOVEMENT, "model_weights_export")
        cross = moving and r.get("destination_country") != r.get("source_country")
        if cross and not r.get("approval_ref"):
            found["cross-border movement without approval"] += 1
        if (
            moving
            and r.get("classification") in ("restricted", "secret")
            and not r.get("encrypted")
        ):
            found["restricted/secret data moved unencrypted"] += 1
        if r.get("outcome") in ("denied", "failure"):
            found[f"action {r.get('outcome')}"] += 1
        if action == "audit_logging_changed":
            found["audit logging changed"] += 1
    return found


def render(
    records: Sequence[Record],
    checkpoints: Sequence[Checkpoint],
    report: Report,
    *,
    period: str,
    key_id: str,
    files: Mapping[str, str],
) -> str:
    """The summary page. `files`: bundle file name -> SHA-256."""
    buckets, fmt = _buckets(records)
    index = {b: i for i, b in enumerate(buckets)}

    def over_time(actions: Sequence[str]) -> dict[str, list[float]]:
        series = {a: [0.0] * len(buckets) for a in actions}
        for r in records:
            if r.get("action") in series:
                series[str(r["action"])][index[record_time(r).strftime(fmt)]] += 1
        return series

    transfers = Counter(
        str(r.get("destination_country", "?")) for r in records if r.get("action") in MOVEMENT
    )
    exports = Counter(
        str(r.get("destination_country", "?"))
        for r in records
        if r.get("action") == "model_weights_export"
    )
    status = HEADLINES[report.status]
    findings = "".join(
        f"<tr><td>{_esc(f.kind)}</td><td>{_esc(f.site)}</td><td>{_esc(f.seq)}</td>"
        f"<td>{_esc(f.detail)}</td></tr>"
        for f in report.findings
    )
    sites = "".join(
        f"<tr><td>{_esc(site)}</td><td>{s['records']}</td><td>{s['first_seq']}..{s['last_seq']}"
        f"</td><td>{s['checkpoints']}</td><td>{s['signed_to']}</td></tr>"
        for site, s in sorted(report.sites.items())
    )
    file_rows = "".join(
        f"<tr><td>{_esc(name)}</td><td><code>{_esc(digest)}</code></td></tr>"
        for name, digest in files.items()
    )
    red, violet = COLOURS[4], COLOURS[2]
    charts = [
        bar_chart("Data transfers and replicas by destination country", transfers.most_common()),
        bar_chart("Model weight exports by destination country", exports.most_common(), violet),
        stacked_columns(
            "Model weight exports over time", buckets, over_time(["model_weights_export"])
        ),
        stacked_columns(
            "Privileged sessions and commands over time", buckets, over_time(PRIVILEGED)
        ),
        bar_chart(
            "Rule violations found in the records",
            violations(records).most_common(),
            red,
            label_w=300,
        ),
    ]
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    findings_html = (
        f"<table><tr><th>kind</th><th>site</th><th>seq</th><th>detail</th></tr>{findings}</table>"
        if findings
        else "<p>None: every record hashes, links and is covered by a valid signature.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>sovwatch audit evidence {_esc(period)}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1f2328; max-width: 1100px; }}
h1 {{ font-size: 22px; }} h2 {{ font-size: 17px; margin-top: 1.6em; }}
.status {{ padding: .6em 1em; font-weight: bold; color: white; display: inline-block;
  background: {STATUS_COLOURS[report.status]}; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #d0d7de; padding: 3px 8px;
  text-align: left; vertical-align: top; }}
figure {{ margin: 1em 0; }} figcaption {{ font-weight: bold; margin-bottom: .3em; }}
svg text {{ font: 12px system-ui, sans-serif; fill: #1f2328; }} .small {{ font-size: 10px; }}
.none {{ color: #57606a; }} code {{ font-size: 11px; }}
</style></head><body>
<h1>Sovereignty audit evidence</h1>
<p>Period: <b>{_esc(period)}</b> · {len(records)} records · {len(checkpoints)} checkpoints ·
signing key <code>{_esc(key_id)}</code> · generated {_esc(generated)}</p>
<p class="status">{_esc(status)}</p>
<h2>Sites</h2>
<table><tr><th>site</th><th>records</th><th>sequence</th><th>checkpoints</th>
<th>signed up to seq</th></tr>{sites}</table>
<h2>Verification findings</h2>
{findings_html}
<h2>Activity</h2>
{"".join(charts)}
<h2>Files in this bundle</h2>
<table><tr><th>file</th><th>SHA-256</th></tr>{file_rows}</table>
<p>Re-check independently:
<code>sovwatch audit verify --bundle THIS.zip --public-key YOUR.pem</code>.
Records are in <code>records.jsonl</code> exactly as hashed; <code>records.csv</code> is for
spreadsheets.</p>
</body></html>
"""
