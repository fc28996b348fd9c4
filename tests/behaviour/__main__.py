"""``python -m behaviour``: run every scenario and print what this Celery really does.

Run from tests/ (so ``behaviour`` and ``harness`` import) with the interpreters of the two code
bases; ``make behaviour`` does that, for the pinned Celery or for ``CELERY=x.y.z``.
"""

import argparse
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from behaviour.lab import Lab, Pythons, celery_version
from behaviour.run import Result, scenario_check
from behaviour.scenarios import SCENARIOS


def table(results: list[Result], *, markdown: bool = False) -> str:
    headers = ("#", "scenario", "expected", "observed", "agree")
    rows = [
        (r.scenario.id, r.scenario.title, r.expected, r.observed, "yes" if r.agrees else "NO")
        for r in results
    ]
    if markdown:
        cells = [headers, tuple("---" for _ in headers), *rows]
        escaped = ([c.replace("|", "\\|") for c in row] for row in cells)
        return "\n".join("| " + " | ".join(row) + " |" for row in escaped)
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: tuple[str, ...]) -> str:
        return " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join(
        [line(headers), "-+-".join("-" * w for w in widths), *(line(row) for row in rows)]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m behaviour", description=__doc__)
    parser.add_argument("--remote-python", type=Path, required=True)
    parser.add_argument("--caller-python", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, default=None, help="worker logs (kept)")
    parser.add_argument("--only", nargs="*", default=None, help="scenario ids to run")
    parser.add_argument("--explain", action="store_true", help="print what each one shows")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)

    pythons = Pythons(remote=args.remote_python.absolute(), caller=args.caller_python.absolute())
    remote_version, caller_version = celery_version(pythons.remote), celery_version(pythons.caller)
    scenarios = [s for s in SCENARIOS if args.only is None or s.id in args.only]
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="crosslink-behaviour-"))
    print(f"Celery {remote_version} (remote worker), {caller_version} (caller worker)")
    print(f"worker logs: {work_dir}\n", flush=True)

    started = time.monotonic()
    results: list[Result] = []
    with Lab(pythons=pythons, scenario_ids=[s.id for s in scenarios], work_dir=work_dir) as lab:
        for scenario in scenarios:
            result = scenario_check(lab, scenario, remote_version)
            results.append(result)
            mark = "ok " if result.agrees else "NO "
            print(f"  {mark} {scenario.id:>3} {result.observed}", file=sys.stderr, flush=True)
    print()
    print(table(results, markdown=args.markdown))
    for r in results:
        if args.explain or not r.agrees:
            print(f"\n{r.scenario.id}. {r.scenario.title}")
            print(textwrap.indent(textwrap.fill(r.scenario.explain, 96), "   "))
            if r.detail:
                print(textwrap.indent(textwrap.fill(r.detail, 96), "   detail: "))
    agreeing = sum(r.agrees for r in results)
    print(f"\ntook {time.monotonic() - started:.0f} s")
    print(f"scenarios: {len(results)}, as expected: {agreeing}")
    return 0 if agreeing == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
