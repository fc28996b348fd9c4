"""Render one trace as an HTML waterfall, from spans the observability test exported.

    CROSSLINK_TRACE_DUMP=var/spans.json system_a/.venv/bin/python -m pytest tests/observability
    python3 scripts/trace_waterfall.py var/spans.json --file-id 1 > var/trace.html

For a picture of a trace where no trace viewer runs (docs/observability.md); with the compose
profile, Jaeger shows the same trace. Standard library only.
"""

import argparse
import html
import json
import sys
from typing import Any

COLOURS = {"system-a-web": "#4e79a7", "system-a-worker": "#59a14f", "system-b-worker": "#f28e2b"}
SHOWN = ("crosslink.file_id", "crosslink.task_id", "crosslink.attempt", "http.route")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spans", help="JSON list of spans (CROSSLINK_TRACE_DUMP)")
    parser.add_argument("--file-id", help="the file whose trace to draw (default: the first)")
    args = parser.parse_args()
    with open(args.spans) as dump:
        spans: list[dict[str, Any]] = json.load(dump)
    ends = [
        s
        for s in spans
        if s["name"].startswith("run/system_a.file_processing")
        and (args.file_id is None or str(s["attributes"].get("crosslink.file_id")) == args.file_id)
    ]
    if not ends:
        sys.exit("no callback span for that file in the dump")
    trace = [s for s in spans if s["trace_id"] == ends[0]["trace_id"]]
    sys.stdout.write(waterfall(trace))


def _ordered(trace: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Depth-first from the root, children by start time: (depth, span)."""
    children: dict[str, list[dict[str, Any]]] = {}
    for span in trace:
        children.setdefault(span["parent_id"], []).append(span)
    ids = {s["span_id"] for s in trace}
    roots = [s for s in trace if s["parent_id"] not in ids]
    out: list[tuple[int, dict[str, Any]]] = []

    def walk(span: dict[str, Any], depth: int) -> None:
        out.append((depth, span))
        for child in sorted(children.get(span["span_id"], []), key=lambda s: s["start_ns"]):
            walk(child, depth + 1)

    for root in sorted(roots, key=lambda s: s["start_ns"]):
        walk(root, 0)
    return out


def waterfall(trace: list[dict[str, Any]]) -> str:
    start = min(s["start_ns"] for s in trace)
    total = max(s["end_ns"] for s in trace) - start or 1
    rows = []
    for depth, span in _ordered(trace):
        left = 100 * (span["start_ns"] - start) / total
        width = max(0.4, 100 * (span["end_ns"] - span["start_ns"]) / total)
        ms = (span["end_ns"] - span["start_ns"]) / 1e6
        colour = COLOURS.get(span["service"], "#999")
        error = " error" if span["status"] == "ERROR" else ""
        details = " ".join(
            f"{k.removeprefix('crosslink.')}={span['attributes'][k]}"
            for k in SHOWN
            if k in span["attributes"]
        )
        label_at = min(left + width, 88)
        rows.append(
            f'<tr><td class="name" style="padding-left:{8 + 16 * depth}px">'
            f'<span class="svc" style="background:{colour}">{html.escape(span["service"])}</span> '
            f"{html.escape(span['name'])} <small>{span['kind'].lower()}</small>"
            f'<div class="attrs">{html.escape(details)}</div></td>'
            f'<td class="bar"><div class="b{error}" style="left:{left:.2f}%;width:{width:.2f}%;'
            f'background:{colour}"></div><span class="ms" style="left:{label_at:.2f}%">'
            f"{ms:.1f} ms</span></td></tr>"
        )
    title = f"trace {trace[0]['trace_id']} · {len(trace)} spans · {total / 1e6:.1f} ms"
    return f"""<!doctype html><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 13px system-ui, sans-serif; margin: 16px; color: #222; }}
h1 {{ font-size: 15px; }} table {{ border-collapse: collapse; width: 100%; }}
td {{ border-bottom: 1px solid #eee; padding: 4px 8px; vertical-align: top; }}
td.name {{ width: 46%; }} td.bar {{ position: relative; }}
.svc {{ color: #fff; border-radius: 3px; padding: 0 4px; font-size: 11px; }}
.attrs {{ color: #777; font-size: 11px; font-family: monospace; }}
.b {{ position: absolute; top: 8px; height: 14px; border-radius: 2px; }}
.b.error {{ outline: 2px solid #e15759; }}
.ms {{ position: absolute; top: 7px; margin-left: 6px; font-size: 11px; color: #555; }}
</style>
<h1>{html.escape(title)}</h1><table>{"".join(rows)}</table>
"""


if __name__ == "__main__":
    main()
