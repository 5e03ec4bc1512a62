"""The benchmark: `bench/run` (which bootstraps .venv and runs `python -m bench`).

1. Start the fake Slack, create a throwaway PostgreSQL database and migrate it with
   `python -m bot migrate`.
2. Start deploybot (`python -m bot serve`: gunicorn) and the baseline Bolt app
   (`python -m bench.baseline serve`, the same gunicorn options), timing each start-up to
   a healthy /healthz.
3. For every scenario and concurrency level, run the load generator against each target
   in turn, then wait until the bot has finished the work behind its acknowledgements.
4. Record memory of both process trees, stop them, run the growth measurements on a
   second throwaway database, drop both databases.
5. Write bench/results/<timestamp>.json and the generated part of docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import growth, machine, report, work
from bench.paths import REPO_ROOT, RESULTS_DIR, use_test_support
from bench.report import TARGET_LEVEL, TARGET_SCENARIOS
from bench.scenarios import (
    BY_NAME,
    DEPLOY_CHANNEL,
    SCENARIOS,
    PrepareContext,
    Scenario,
    Skip,
)

use_test_support()

from support.db import PostgresServer  # noqa: E402
from support.fake_slack import FakeSlack  # noqa: E402
from support.server import BotProcess, child_env, free_port, run_bot_command  # noqa: E402
from support.slack_requests import SlackRequest, signed_headers  # noqa: E402

LEVELS = [1, 8, 32, 128]
# Commands of the work's throughput burst, and of the crash burst with --quick (the full
# run's is the 1,500: bench.work.CRASH_COMMANDS).
BURST_FULL = 2000
BURST_QUICK = 300
CRASH_QUICK = 400
STARTUPS = 3
# The most requests a second one run may send, on average: above what this machine can
# serve (the baseline answers about 2,800 a second at 32 in flight). The load generator
# builds them all before it starts.
MAX_RATE = 4_000
# The work behind a burst can take minutes: a work process books about 70 deploys a second.
DRAIN_TIMEOUT = 600.0
# Rounds at the target level (report.TARGET_LEVEL) for the target scenarios: the two
# targets take turns this many times and each one's samples are pooled. On a shared
# machine a single 10-second run's p99 can be doubled by one stall of the whole machine;
# alternating spreads such stalls over both targets, and the report shows each round.
TARGET_ROUNDS = 3
FAKE_SLACK_NICENESS = 19
# The work is done when the bot's processes have used less CPU than this over the last
# QUIET_S seconds (and the fake Slack has heard nothing for as long). Half a second was
# once too short: in a full run the work behind Approve clicks paused that long while
# far from finished, and its leftover work spoilt the baseline's run that followed.
IDLE_CPU_S = 0.05
QUIET_S = 2.0

_t0 = time.monotonic()


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - _t0:6.1f}s] {message}", file=sys.stderr, flush=True)


class Target:
    """One server under test: deploybot or the baseline."""

    def __init__(self, name: str, module: str, env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.process = BotProcess(
            env, module=module, migrate=False, log_path=log_path, startup_timeout=60
        )
        self.secret = env["SLACK_SIGNING_SECRET"]

    @property
    def base_url(self) -> str:
        return self.process.base_url

    def start_timed(self) -> float:
        """Start and return seconds from spawning to the first 200 from /healthz."""
        started = time.perf_counter()
        self.process.start(wait=False)
        deadline = started + 60
        with httpx.Client(timeout=1.0) as client:
            while time.perf_counter() < deadline:
                if not self.process.is_running():
                    raise RuntimeError(f"{self.name} exited:\n{self.process.log_tail()}")
                try:
                    if client.get(f"{self.base_url}/healthz").status_code == 200:
                        return time.perf_counter() - started
                except httpx.HTTPError:
                    pass
                time.sleep(0.01)
        raise RuntimeError(f"{self.name} not healthy after 60 s:\n{self.process.log_tail()}")

    def send(self, request: SlackRequest) -> int:
        signature = signed_headers(self.secret, request.body)
        headers = {"Content-Type": request.content_type, **signature}
        response = httpx.post(
            f"{self.base_url}/slack/events", content=request.body, headers=headers, timeout=10
        )
        return response.status_code


def measure_ack_cpu(workdir: Path, quick: bool) -> dict[str, Any]:
    """bench.ack_cpu's figures, measured in a process of its own before the load phase."""
    out = workdir / "ack_cpu.json"
    requests, repeats = ("200", "2") if quick else ("2000", "5")
    command = [sys.executable, "-m", "bench.ack_cpu", "--requests", requests]
    subprocess.run(  # noqa: S603 (our interpreter, our module)
        [*command, "--repeats", repeats, "--json", str(out)],
        cwd=REPO_ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    measured: dict[str, Any] = json.loads(out.read_text())
    for scenario, row in measured["scenarios"].items():
        log(f"ack CPU {scenario}: {row['deploybot_us']} us vs {row['baseline_us']} us")
    return measured


def start_clock(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """deploybot's clock (`python -m bot clock`, the Procfile's second process), beside the
    server for the whole load phase, so that its memory is read after the load run."""
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "clock"],
            env=child_env(env),
            cwd=REPO_ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_clock(clock: subprocess.Popen[bytes]) -> None:
    if clock.poll() is None:
        clock.terminate()
        try:
            clock.wait(timeout=15)
        except subprocess.TimeoutExpired:
            clock.kill()
            clock.wait(timeout=5)


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    samples = result["samples"]
    latencies = sorted(s[1] for s in samples)
    ok = sum(1 for s in samples if s[2] == 200)

    def pct(p: float) -> float | None:
        if not latencies:
            return None
        # Nearest rank.
        rank = max(1, int(-(-p * len(latencies) // 100)))
        return round(latencies[rank - 1], 2)

    return {
        "requests": len(samples),
        "ok": ok,
        "errors": len(samples) - ok,
        "error_kinds": result["errors"],
        "throughput_rps": round(len(samples) / result["duration_s"], 1),
        "mean_ms": round(statistics.fmean(latencies), 2) if latencies else None,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "budget_exhausted": result["budget_exhausted"],
    }


def run_load(
    target: Target,
    scenario: Scenario,
    level: int,
    params: dict[str, Any],
    args: argparse.Namespace,
    workdir: Path,
    tag: str,
) -> dict[str, Any]:
    spec = {
        "scenario": scenario.name,
        "params": params,
        "base_url": target.base_url,
        "signing_secret": target.secret,
        "concurrency": level,
        "warmup": args.warmup,
        "duration": args.duration,
        "budget": params["budget"],
    }
    spec_path, out_path = workdir / f"{tag}.spec.json", workdir / f"{tag}.out.json"
    spec_path.write_text(json.dumps(spec))
    subprocess.run(  # noqa: S603 (our interpreter, our module)
        [sys.executable, "-m", "bench.load", str(spec_path), str(out_path)],
        cwd=REPO_ROOT,
        check=True,
        # A session of its own: under the kernel's autogroup scheduling CPU is shared
        # between sessions first, and this one holds the fake Slack, which is busy only
        # while deploybot's work runs. The load generator's share must not depend on it.
        start_new_session=True,
    )
    return json.loads(out_path.read_text())


def drain(
    fake: FakeSlack, target: Target, before: int, expected: int, expects_response: bool
) -> dict[str, Any]:
    """Wait until the work behind the acknowledgements is done: every expected response
    URL post has arrived, and for QUIET_S the fake has heard nothing and the target's
    processes have been idle. (The work runs at a low CPU priority, so a pause in Slack
    calls alone does not prove it is finished.)"""
    started = time.perf_counter()
    deadline = started + DRAIN_TIMEOUT
    last_total, quiet_since = -1, time.perf_counter()
    last_cpu = machine.cpu_seconds(target.process.pid or 0)
    while time.perf_counter() < deadline:
        time.sleep(QUIET_S)
        responses = len(fake.calls("response_url")) - before
        total = len(fake.calls())
        cpu = machine.cpu_seconds(target.process.pid or 0)
        if total != last_total or cpu - last_cpu >= IDLE_CPU_S:
            quiet_since = time.perf_counter()
        last_total, last_cpu = total, cpu
        done = responses >= expected if expects_response else True
        if done and time.perf_counter() - quiet_since >= QUIET_S:
            break
    responses = len(fake.calls("response_url")) - before
    failed = [c for c in fake.calls() if not c.ok]
    return {
        # Time after the last acknowledgement until the work behind them was finished,
        # less the quiet time that proves it.
        "drain_s": round(max(0.0, quiet_since - started), 2),
        "drain_timed_out": time.perf_counter() >= deadline,
        "responses": responses,
        "responses_expected": expected if expects_response else None,
        "slack_calls": len(fake.calls()),
        "slack_calls_failed": len(failed),
    }


def fresh_fake(fake: FakeSlack) -> None:
    fake.reset()
    # Bench users read and write times in UTC, so a booking's text is its slot exactly;
    # block validation is the test suite's job and would only add harness CPU here.
    fake.default_tz = "UTC"
    fake.validate = False


def run_load_phase(
    targets: dict[str, Target],
    contexts: dict[str, PrepareContext],
    fake: FakeSlack,
    args: argparse.Namespace,
    workdir: Path,
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    runs: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for scenario in [BY_NAME[name] for name in args.scenarios]:
        try:
            runs.extend(run_scenario(scenario, targets, contexts, fake, args, workdir))
        except Skip as exc:
            log(f"skip {scenario.name}: {exc}")
            skipped.append({"scenario": scenario.name, "note": str(exc)})
    return runs, skipped


def run_scenario(
    scenario: Scenario,
    targets: dict[str, Target],
    contexts: dict[str, PrepareContext],
    fake: FakeSlack,
    args: argparse.Namespace,
    workdir: Path,
) -> list[dict[str, Any]]:
    """Every level of one scenario, the targets back to back at each level so that both
    see the same background load (in several alternating rounds at the target level)."""
    runs: list[dict[str, Any]] = []
    # deploybot first (as `targets` is ordered): the baseline's Approve clicks are made
    # from the announcements deploybot's preparation posts.
    names = [n for n in targets if n == "deploybot" or scenario.on_baseline]
    for level in args.levels:
        target_level = scenario.name in TARGET_SCENARIOS and level == TARGET_LEVEL
        rounds = args.rounds if target_level else 1
        measured: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for round_number in range(1, rounds + 1):
            suffix = f"-r{round_number}" if rounds > 1 else ""
            for name in names:
                tag = f"{name}-{scenario.name}-{level}{suffix}"
                one = measure(
                    scenario, level, targets[name], contexts[name], fake, args, workdir, tag
                )
                measured[name].append(one)
        runs.extend(pool_rounds(measured[name]) for name in names)
    return runs


def measure(
    scenario: Scenario,
    level: int,
    target: Target,
    context: PrepareContext,
    fake: FakeSlack,
    args: argparse.Namespace,
    workdir: Path,
    tag: str,
) -> dict[str, Any]:
    """One run of the load generator against one target, then its drain."""
    fresh_fake(fake)
    budget = int(MAX_RATE * (args.warmup + args.duration))
    params = {
        **scenario.prepare(context, budget),
        "budget": budget,
        "fake_url": fake.url,
        "tag": tag,
    }
    before = len(fake.calls("response_url"))
    log(f"{tag}: {args.warmup}+{args.duration} s")
    web_cpu_before = machine.cpu_seconds(target.process.pid or 0, work=False)
    result = run_load(target, scenario, level, params, args, workdir, tag)
    stats = summarize(result)
    expects = scenario.expects_response and target.name == "deploybot"
    after = drain(fake, target, before, result["answered_ok"], expects)
    # After the drain, so that it includes handing the work on (docs/adr/0013).
    web_cpu = machine.cpu_seconds(target.process.pid or 0, work=False) - web_cpu_before
    log(
        f"  {stats['throughput_rps']} req/s, p50 {stats['p50_ms']} ms, "
        f"p99 {stats['p99_ms']} ms, errors {stats['errors']}, "
        f"drained in {after['drain_s']} s"
    )
    return {
        "target": target.name,
        "scenario": scenario.name,
        "concurrency": level,
        **stats,
        **after,
        "web_cpu_s": round(web_cpu, 2),
        "sent": result["sent"],
        "raw": result,
    }


def run_work_phase(
    env: dict[str, str],
    fake: FakeSlack,
    context: PrepareContext,
    database_url: str,
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Any]:
    """bench/work.py's three parts, each on a deploybot of its own (the load phase's is
    stopped), on the same database."""
    fresh_fake(fake)
    answers = work.time_to_answer(
        env,
        fake,
        context,
        levels=work.ANSWER_LEVELS,
        scenarios=work.ANSWER_SCENARIOS,
        warmup=args.warmup,
        duration=args.duration,
        workdir=workdir,
        log=log,
    )
    fresh_fake(fake)
    throughput = work.throughput(
        env,
        fake,
        context,
        work_processes=(1, 2) if args.quick else (1, 2, 4),
        commands=BURST_QUICK if args.quick else BURST_FULL,
        workdir=workdir,
        log=log,
    )
    fresh_fake(fake)
    crashed = work.crash(
        env,
        fake,
        context,
        database_url,
        commands=CRASH_QUICK if args.quick else work.CRASH_COMMANDS,
        workdir=workdir,
        log=log,
    )
    return {"answers": answers, "throughput": throughput, "crash": crashed}


def pool_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One target's rounds at one level as one run: latencies from all their samples,
    counts summed; each round's own figures are kept under "rounds"."""
    if len(rounds) == 1:
        return rounds[0]
    raws = [r["raw"] for r in rounds]
    errors: dict[str, int] = {}
    for raw in raws:
        for kind, count in raw["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    pooled_raw = {
        "samples": [sample for raw in raws for sample in raw["samples"]],
        "errors": errors,
        "duration_s": sum(raw["duration_s"] for raw in raws),
        "budget_exhausted": any(raw["budget_exhausted"] for raw in raws),
    }
    expected = [r["responses_expected"] for r in rounds]
    return {
        "target": rounds[0]["target"],
        "scenario": rounds[0]["scenario"],
        "concurrency": rounds[0]["concurrency"],
        **summarize(pooled_raw),
        "drain_s": max(r["drain_s"] for r in rounds),
        "drain_timed_out": any(r["drain_timed_out"] for r in rounds),
        "responses": sum(r["responses"] for r in rounds),
        "responses_expected": None if None in expected else sum(expected),
        "slack_calls": sum(r["slack_calls"] for r in rounds),
        "slack_calls_failed": sum(r["slack_calls_failed"] for r in rounds),
        "web_cpu_s": round(sum(r["web_cpu_s"] for r in rounds), 2),
        "sent": sum(r["sent"] for r in rounds),
        "rounds": [
            {key: r[key] for key in ("throughput_rps", "p50_ms", "p99_ms", "max_ms", "drain_s")}
            for r in rounds
        ],
        "raw": raws,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run to check the harness")
    parser.add_argument("--duration", type=float, help="measured seconds per level (10)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds before each (2)")
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument(
        "--scenarios",
        type=lambda s: s.split(","),
        default=[s.name for s in SCENARIOS],
        help="comma-separated: " + ",".join(s.name for s in SCENARIOS),
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help=f"alternating rounds at the target level ({TARGET_ROUNDS}; 1 with --quick)",
    )
    parser.add_argument("--no-growth", action="store_true", help="skip the growth section")
    parser.add_argument("--no-load", action="store_true", help="skip the acknowledgement load runs")
    parser.add_argument(
        "--work-nice",
        type=int,
        help="WORK_NICE for deploybot (default: the bot's own, 19); 0 on a machine shared "
        "with other work, where a nice-19 work process gets almost no CPU",
    )
    parser.add_argument(
        "--no-work",
        action="store_true",
        help="skip the time to answer, the work's throughput and the crash test",
    )
    parser.add_argument(
        "--no-report", action="store_true", help="write only the raw JSON, not docs/"
    )
    args = parser.parse_args(argv)
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    args.levels = args.levels or LEVELS
    args.rounds = args.rounds or (1 if args.quick else TARGET_ROUNDS)
    steps = growth.QUICK_STEPS if args.quick else growth.STEPS
    command = " ".join(["bench/run", shlex.join(sys.argv[1:] if argv is None else argv)]).strip()

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = RESULTS_DIR / stamp
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    pg = PostgresServer(maintenance_db=os.environ.get("BENCH_PGDATABASE", "postgres"))
    with pg.connect_admin() as conn:
        pg_version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    facts = machine.facts(pg_version)
    log(f"{facts['cpu_model']}, {facts['nproc']} CPUs, load {facts['load_average_start']}")

    # The fake plays Slack's servers, which in production cost this machine nothing: at
    # the lowest CPU priority it only uses what the bot and the baseline leave over.
    fake = FakeSlack(niceness=FAKE_SLACK_NICENESS).start()
    targets: dict[str, Target] = {}
    clock: subprocess.Popen[bytes] | None = None
    results: dict[str, Any] = {
        "command": command,
        "machine": facts,
        "settings": {
            "levels": args.levels,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "quick": args.quick,
            "target_rounds": args.rounds,
            "web_concurrency": 2,
            "work_nice": args.work_nice,
        },
    }
    try:
        database = pg.create_database("deploybot_bench")
        migrated = run_bot_command(["migrate"], {"DATABASE_URL": database.url})
        if migrated.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{migrated.stdout}{migrated.stderr}")
        common = {
            "SLACK_BOT_TOKEN": fake.token,
            "SLACK_API_URL": fake.base_url,
            "DEPLOY_CHANNEL": DEPLOY_CHANNEL,
            "WEB_CONCURRENCY": "2",
        }
        clock_env: dict[str, str] = {}
        deploybot_env = {"DATABASE_URL": database.url, "REQUIRED_APPROVALS": "50"}
        if args.work_nice is not None:
            deploybot_env["WORK_NICE"] = str(args.work_nice)
        for name, module, extra in (
            # A high quorum keeps every distinct Approve click on the costly path (locked
            # count, recorded approval, announcement update) instead of "not awaiting".
            ("deploybot", "bot", deploybot_env),
            ("baseline", "bench.baseline", {}),
        ):
            env = {**common, **extra, "SLACK_SIGNING_SECRET": secrets.token_hex(16)}
            env["PORT"] = str(free_port())
            targets[name] = Target(name, module, env, workdir / f"{name}.log")
            if name == "deploybot":
                clock_env = env

        startup: dict[str, Any] = {}
        for name, target in targets.items():
            times = []
            for attempt in range(STARTUPS):
                times.append(target.start_timed())
                if attempt < STARTUPS - 1:
                    target.process.stop()
            startup[name] = {
                "runs_s": [round(t, 3) for t in times],
                "median_s": round(statistics.median(times), 3),
            }
            log(f"{name} healthy after {startup[name]['runs_s']} s")
        results["startup"] = startup
        results["memory_idle"] = {n: machine.memory(t.process.pid or 0) for n, t in targets.items()}
        results["ack_cpu"] = measure_ack_cpu(workdir, args.quick)
        clock = start_clock(clock_env, workdir / "clock.log")

        shared: dict[str, Any] = {}
        contexts = {
            name: PrepareContext(fake=fake, send=target.send, target=name, shared=shared)
            for name, target in targets.items()
        }
        if not args.no_load:
            runs, skipped = run_load_phase(targets, contexts, fake, args, workdir)
            results["runs"] = runs
            results["skipped"] = skipped
            results["memory_after_load"] = {
                n: machine.memory(t.process.pid or 0) for n, t in targets.items()
            }
        if clock.poll() is not None:
            raise RuntimeError(f"the clock exited ({clock.returncode}); see {workdir}/clock.log")
        results["clock_memory_after_load"] = machine.memory(clock.pid)
        stop_clock(clock)
        for target in targets.values():
            target.process.stop()
        if not args.no_work:
            results.update(
                run_work_phase(clock_env, fake, contexts["deploybot"], database.url, args, workdir)
            )
        pg.drop_database(database.name)

        if not args.no_growth:
            growth_db = pg.create_database("deploybot_bench_growth")
            migrated = run_bot_command(["migrate"], {"DATABASE_URL": growth_db.url})
            if migrated.returncode != 0:
                raise RuntimeError(f"migrate failed:\n{migrated.stdout}{migrated.stderr}")
            results["growth"] = growth.run_growth(growth_db.url, steps, log)
    finally:
        if clock is not None:
            stop_clock(clock)
        for target in targets.values():
            target.process.stop()
        fake.stop()
        pg.drop_all()

    results["machine"]["load_average_end"] = machine.load_average()
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    raw_path = RESULTS_DIR / f"{stamp}.json"
    raw_path.write_text(json.dumps(results, indent=1))
    log(f"raw results: {raw_path.relative_to(REPO_ROOT)}")
    if not args.no_report:
        report.write(results, raw_path)
        log("report: docs/performance.md")
    verdicts = report.verdicts(results) + report.work_verdicts(results)
    for line in verdicts:
        log(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
