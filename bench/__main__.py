"""``make bench``: measure crosslink against baselines and peers in one run and print the ratios.

Everything runs on this machine at the same time: a throwaway RabbitMQ vhost, a throwaway
database, System A's and System B's workers, the bare baseline's two workers (Celery's defaults)
and the durable baseline's two (crosslink's guarantees, none of its code). Round-trip samples
are interleaved in rounds (bare, durable, crosslink, bare, ...) so drift in the machine's load
affects every side alike. Processing is measured against ``csv.reader`` and, from the bench-only
environment (bench/.venv), against frictionless and DuckDB on the same file. Results go to
var/bench/results.json.
"""

import argparse
import json
import os
import platform
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "system_a"), str(REPO / "tests")]

from bench.s3_memory import rss_results  # noqa: E402
from bench.stats import median, percentile, ratio  # noqa: E402
from harness.databases import throwaway_database  # noqa: E402
from harness.processes import A_BIN, B_BIN, ManagedProcess, celery_worker, run_json  # noqa: E402
from harness.rabbitmq import throwaway_vhost  # noqa: E402

OUT = REPO / "var" / "bench"
BENCH_BIN = REPO / "bench" / ".venv" / "bin"
TARGETS = {  # name: (comparison, target) — benchmark targets, reported, never asserted
    "durable_roundtrip_ratio": ("<=", 1.5),
    "durable_throughput_ratio": (">=", 0.7),
    "peer_ratio_frictionless": (">=", 5.0),
    # No regression of what the last round reached:
    "roundtrip_ratio": ("<=", 3.0),
    "throughput_ratio": (">=", 0.33),
    "processing_ratio": (">=", 0.33),
    "rss_ratio": ("<=", 1.2),
    "rss_ratio_s3": ("<=", 1.2),  # the same, with the files on S3-compatible storage
}


def started(stack: ExitStack, process: ManagedProcess) -> ManagedProcess:
    stack.callback(process.stop)
    return process.start()


def round_trips(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from bench.roundtrip import Bare, Crosslink, Durable

    logs = OUT / "logs"
    with ExitStack() as stack:
        for system, queues in (("a", "system_a.callbacks"), ("b", "system_b.remote")):
            started(stack, celery_worker(system=system, env=env, log_dir=logs, queues=queues))
        # Without DJANGO_SETTINGS_MODULE, or Celery's Django fix-up would load A's project.
        bare_env = {k: v for k, v in env.items() if not k.startswith("DJANGO_")}
        for baseline, name, binary, queue in (
            ("bare", "remote_app", B_BIN, "bare.remote"),
            ("bare", "caller_app", A_BIN, "bare.caller"),
            ("durable", "remote_app", B_BIN, "durable.remote"),
            ("durable", "caller_app", A_BIN, "durable.caller"),
        ):
            worker = celery_worker(system="b", env=bare_env, log_dir=logs, queues=queue, app=name)
            worker.argv = [str(binary / "celery"), *worker.argv[1:]]
            worker.cwd = REPO / "bench" / baseline
            started(stack, worker)

        crosslink = Crosslink(
            storage_root=Path(env["CROSSLINK_STORAGE_ROOT"]), database_url=env["DATABASE_URL"]
        )
        stack.callback(crosslink.close)
        bare = Bare(broker_url=env["CELERY_BROKER_URL"], backend_url=env["CELERY_RESULT_BACKEND"])
        durable = Durable(
            broker_url=env["CELERY_BROKER_URL"],
            backend_url=env["CELERY_RESULT_BACKEND"],
            database_url=env["DATABASE_URL"],
        )
        stack.callback(durable.close)
        sides = {"bare": bare, "durable": durable, "crosslink": crosslink}
        for _ in range(10):  # warm up connections and worker pools on every side
            for side in sides.values():
                side.one()
        samples: dict[str, list[float]] = {name: [] for name in sides}
        rounds = max(1, args.files // args.round_size)
        for _ in range(rounds):
            for name, side in sides.items():
                samples[name] += [side.one() for _ in range(args.round_size)]
        timeout = max(120.0, args.burst * 0.5)
        burst = {
            name: args.burst / side.burst(args.burst, timeout=timeout)
            for name, side in sides.items()
        }
    from django.db import connections

    connections.close_all()
    return {
        "roundtrip_ms": {
            side: {
                "n": len(values),
                "median": median(values) * 1000,
                "p95": percentile(values, 95) * 1000,
            }
            for side, values in samples.items()
        },
        "throughput_per_s": burst,
        "roundtrip_ratio": ratio(median(samples["crosslink"]), median(samples["bare"])),
        "throughput_ratio": ratio(burst["crosslink"], burst["bare"]),
        "durable_roundtrip_ratio": ratio(median(samples["crosslink"]), median(samples["durable"])),
        "durable_throughput_ratio": ratio(burst["crosslink"], burst["durable"]),
    }


def processing(args: argparse.Namespace) -> dict[str, Any]:
    sizes = sorted({1, args.peer_mb, args.big_mb})
    measured: dict[str, Any] = run_json(
        [str(B_BIN / "python"), "-m", "bench.processing", *(str(size) for size in sizes)],
        cwd=REPO,
        timeout=3600,
    )
    big, small = measured[f"{args.big_mb}mb"], measured["1mb"]
    # The peers read the file crosslink read: the generated table of --peer-mb.
    peer_file = REPO / "var" / "bench" / "data" / f"table-{args.peer_mb}mb.csv"
    peers = run_json(
        [str(BENCH_BIN / "python"), "-m", "bench.peers", str(peer_file)], cwd=REPO, timeout=3600
    )
    crosslink_on_peer_file = measured[f"{args.peer_mb}mb"]["process"]["mb_per_s"]
    return {
        **rss_results(big_mb=args.big_mb),
        "processing": measured,
        "peers": {"file_mb": args.peer_mb, "crosslink_mb_per_s": crosslink_on_peer_file, **peers},
        "processing_ratio": ratio(big["process"]["mb_per_s"], big["csv_reader"]["mb_per_s"]),
        "sha256_ratio": ratio(big["process"]["mb_per_s"], big["sha256"]["mb_per_s"]),
        "rss_ratio": ratio(big["process"]["peak_rss_mb"], small["process"]["peak_rss_mb"]),
        "peer_ratio_frictionless": ratio(crosslink_on_peer_file, peers["frictionless"]["mb_per_s"]),
        "peer_ratio_duckdb": ratio(crosslink_on_peer_file, peers["duckdb"]["mb_per_s"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--files", type=int, default=200, help="round trips per side")
    parser.add_argument("--round-size", type=int, default=20, help="samples per interleaved round")
    parser.add_argument("--burst", type=int, default=1000, help="files / tasks in the burst")
    parser.add_argument("--big-mb", type=int, default=200, help="size of the large input")
    parser.add_argument(
        "--peer-mb", type=int, default=20, help="size of the input the processing peers read"
    )
    parser.add_argument(
        "--only", choices=["roundtrip", "processing"], help="measure one part (no ratio summary)"
    )
    args = parser.parse_args()

    run_id = uuid.uuid4().hex[:8]
    storage = OUT / f"storage-{run_id}"
    storage.mkdir(parents=True)
    base_broker = os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    backend = os.environ.get("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/0")
    base_db = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crosslink")
    started_at = time.time()
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "parameters": vars(args),
        # The machine may be shared: the load says how much the figures can be trusted alone.
        "load_average_before": os.getloadavg(),
    }
    if args.only == "processing":
        print(json.dumps(processing(args), indent=2))
        return 0
    with (
        throwaway_vhost(base_broker, prefix="crosslink-bench") as broker,
        throwaway_database(base_db, f"bench_crosslink_{run_id}") as database_url,
    ):
        env = {
            **os.environ,
            "CELERY_BROKER_URL": broker,
            "CELERY_RESULT_BACKEND": backend,
            "DATABASE_URL": database_url,
            "CROSSLINK_STORAGE_ROOT": str(storage),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            # Measure production settings: DEBUG keeps every query in memory.
            "DJANGO_DEBUG": "false",
            # One INFO line per file would bury the report.
            "DJANGO_LOG_LEVEL": "WARNING",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only-secret-key"),
            "PYTHONUNBUFFERED": "1",
        }
        os.environ.update(env)
        results |= round_trips(args, env)
    if args.only == "roundtrip":
        print(json.dumps(results, indent=2))
        return 0
    results |= processing(args)
    results["seconds"] = time.time() - started_at
    results["load_average_after"] = os.getloadavg()

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    report(results, big_mb=args.big_mb)
    return 0


def report(results: dict[str, Any], *, big_mb: int) -> None:
    trips = results["roundtrip_ms"]
    print(
        "round trip ms: "
        + "; ".join(
            f"{side} median {trips[side]['median']:.1f} p95 {trips[side]['p95']:.1f}"
            for side in ("crosslink", "durable", "bare")
        )
    )
    burst = results["throughput_per_s"]
    print(
        f"burst per s: crosslink {burst['crosslink']:.1f}; durable {burst['durable']:.1f}; "
        f"bare {burst['bare']:.1f}"
    )
    big, small = results["processing"][f"{big_mb}mb"], results["processing"]["1mb"]
    speeds = {what: big[what]["mb_per_s"] for what in ("process", "csv_reader", "sha256")}
    print(
        f"{big_mb} MB CSV, MB/s: crosslink {speeds['process']:.1f}; "
        f"csv.reader {speeds['csv_reader']:.1f}; sha256 {speeds['sha256']:.1f}"
    )
    print(
        f"peak RSS MB: 1 MB file {small['process']['peak_rss_mb']:.1f}; "
        f"{big_mb} MB file {big['process']['peak_rss_mb']:.1f}"
    )
    on_s3 = results["processing_s3"]
    print(
        "peak RSS MB on S3 (moto): "
        + "; ".join(
            f"{form}: 1 MB file {on_s3['1mb'][form]['peak_rss_mb']:.1f}, {big_mb} MB file "
            f"{on_s3[f'{big_mb}mb'][form]['peak_rss_mb']:.1f}"
            for form in results["rss_ratio_s3_by_form"]
        )
    )
    peers = results["peers"]
    print(
        f"{peers['file_mb']} MB CSV, MB/s: crosslink {peers['crosslink_mb_per_s']:.1f}; "
        f"frictionless validate {peers['frictionless']['mb_per_s']:.1f}; "
        f"DuckDB read_csv {peers['duckdb']['mb_per_s']:.1f} "
        f"(peer_ratio_duckdb={results['peer_ratio_duckdb']:.2f}, for reference)"
    )
    for name, (op, target) in TARGETS.items():
        value = results[name]
        met = value <= target if op == "<=" else value >= target
        print(f"{name}={value:.2f}  (target {op} {target}: {'met' if met else 'NOT met'})")
    loads = results["load_average_before"][0], results["load_average_after"][0]
    print(
        f"load average (1 min) before {loads[0]:.2f}, after {loads[1]:.2f} on "
        f"{results['machine']['cpus']} CPUs: figures from a busy machine are noisy; the ratios "
        "compare sides measured in the same run"
    )
    print(f"results: {(OUT / 'results.json').relative_to(REPO)}, {results['seconds']:.0f}s")


if __name__ == "__main__":
    raise SystemExit(main())
