"""Time and memory of the migration analyser on big pull requests.

    python -m bench.analysis [--repeats R] [--json PATH]

Two pull requests, built here from synthetic migrations (each app has 100 earlier
migrations at the base, as a long-lived Django app does):

* `50 migrations`: 50 changed migration files over 5 apps, a mix of every kind of
  operation (tricky, routine, AlterFields judged against history), plus their models.
* `3,000 paths`: 3,000 changed paths of which 4 are migrations, with 3 ES_MAPPING_PATHS
  globs to match against every path (a big refactor or vendored-code update).

Each is analysed with `analyse_pull_request`, as the gate does after fetching the files:
fetching is not measured (it is GitHub's time), parsing, replaying history and judging
are. The time is the median of R runs (and the best), wall clock and CPU (the CPU time
is what the analysis costs whatever else the machine runs); the peak memory of Python
allocations is measured in a separate run under tracemalloc (which slows Python down, so
not during the timed runs). The sources themselves (about 0.5 MB) are allocated before.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.migration_analysis import PullRequestAnalysis, analyse_pull_request

APPS = 5
HISTORY_PER_APP = 100
ES_PATTERNS = ["search/mappings/**", "**/es_mappings/*.json", "kitsune/search/*.py"]


def _migration(number: int, app: str, operations: list[str], docstring: bool = True) -> bytes:
    previous = f'[("{app}", "{number - 1:04d}_step")]' if number > 1 else "[]"
    doc = f'"""Step {number} of {app}."""\n' if docstring else ""
    ops = "".join(f"        {operation},\n" for operation in operations)
    return (
        f"{doc}from django.db import migrations, models\n"
        "import django.db.models.deletion\n\n\n"
        "def forwards(apps, schema_editor):\n"
        "    pass\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = {previous}\n"
        f"    operations = [\n{ops}    ]\n"
    ).encode()


def _history_operations(number: int) -> list[str]:
    """Earlier migrations: models created, fields added and altered over time."""
    if number == 1:
        return [
            f'migrations.CreateModel(name="Model{index}", fields=['
            '("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),'
            '("name", models.CharField(max_length=200)),'
            '("body", models.TextField(blank=True)),'
            '("parent", models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE,'
            ' to="app.model0")),'
            "])"
            for index in range(10)
        ]
    model = f"model{number % 10}"
    return [
        f'migrations.AddField(model_name="{model}", name="field{number}", '
        f"field=models.CharField(max_length={50 + number}, null=True, blank=True))",
        f'migrations.AlterField(model_name="{model}", name="name", '
        f'field=models.CharField(max_length=200, help_text="Name, v{number}"))',
    ]


def _changed_operations(number: int) -> list[str]:
    """The pull request's migrations: one of every common kind, in turn."""
    model = f"model{number % 10}"
    kinds = [
        f'migrations.AddField("{model}", "new{number}", models.IntegerField(default=0))',
        f'migrations.AddField("{model}", "opt{number}", models.TextField(null=True))',
        f'migrations.RemoveField("{model}", "field{number % HISTORY_PER_APP}")',
        f'migrations.AlterField("{model}", "name", models.CharField(max_length=100))',
        f'migrations.AlterField("{model}", "name", models.CharField(max_length=200, '
        'help_text="x"))',
        f'migrations.RenameField("{model}", "body", "text{number}")',
        f'migrations.AddIndex("{model}", models.Index(fields=["name"], name="i{number}"))',
        "migrations.RunPython(forwards, migrations.RunPython.noop)",
        'migrations.RunSQL("UPDATE t SET a = 1", "UPDATE t SET a = 0")',
        f'migrations.CreateModel("New{number}", [("id", models.AutoField(primary_key=True))])',
    ]
    return [kinds[(number + shift) % len(kinds)] for shift in range(6)]


def _history() -> dict[str, bytes]:
    return {
        f"app{app}/migrations/{number:04d}_step.py": _migration(
            number, f"app{app}", _history_operations(number)
        )
        for app in range(APPS)
        for number in range(1, HISTORY_PER_APP + 1)
    }


def pr_with_50_migrations() -> tuple[list[str], dict[str, bytes | None]]:
    sources: dict[str, bytes | None] = {}
    per_app = 50 // APPS
    for app in range(APPS):
        for offset in range(per_app):
            number = HISTORY_PER_APP + 1 + offset
            path = f"app{app}/migrations/{number:04d}_step.py"
            sources[path] = _migration(number, f"app{app}", _changed_operations(number))
    changed = [*sources, *(f"app{app}/models.py" for app in range(APPS))]
    return changed, sources


def pr_with_3000_paths() -> tuple[list[str], dict[str, bytes | None]]:
    sources: dict[str, bytes | None] = {}
    for app in range(4):
        number = HISTORY_PER_APP + 1
        path = f"app{app}/migrations/{number:04d}_step.py"
        sources[path] = _migration(number, f"app{app}", _changed_operations(number + app))
    changed = list(sources)
    index = 0
    while len(changed) < 3000:
        changed.append(f"src/package{index % 40}/module{index}/views_{index}.py")
        index += 1
    changed[1500] = "search/mappings/question.json"  # one ES mapping change among them
    return changed, sources


def _measure(
    build: Callable[[], tuple[list[str], dict[str, bytes | None]]], repeats: int
) -> dict[str, Any]:
    changed, sources = build()
    history = _history()

    def analyse() -> PullRequestAnalysis:
        return analyse_pull_request(changed, sources, history, ES_PATTERNS)

    analysis = analyse()  # warm-up (imports, regex compilation)
    times, cpu = [], []
    for _ in range(repeats):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        analyse()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)

    gc.collect()
    tracemalloc.start()
    analyse()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    return {
        "changed_paths": len(changed),
        "migration_files": len(sources),
        "history_files": len(history),
        "operations": len(analysis.findings()),
        "verdict": analysis.verdict.value,
        "median_ms": round(statistics.median(times) * 1000, 1),
        "best_ms": round(min(times) * 1000, 1),
        "median_cpu_ms": round(statistics.median(cpu) * 1000, 1),
        "peak_mib": round(peak / 2**20, 2),
        "stored_json_kib": round(len(json.dumps(analysis.to_json())) / 1024, 1),
    }


SCENARIOS: dict[str, Callable[[], tuple[list[str], dict[str, bytes | None]]]] = {
    "50 migrations": pr_with_50_migrations,
    "3,000 paths": pr_with_3000_paths,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analysis", description=__doc__)
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per scenario")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    results = {name: _measure(build, args.repeats) for name, build in SCENARIOS.items()}
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }
    print(f"python {machine['python']}, {machine['cpus']} CPUs, load {machine['load_average']}")
    header = (
        f"{'pull request':<15} {'paths':>6} {'migr.':>6} {'ops':>5} {'median ms':>10} "
        f"{'best ms':>8} {'CPU ms':>7} {'peak MiB':>9} {'JSON KiB':>9}"
    )
    print(header)
    for name, row in results.items():
        print(
            f"{name:<15} {row['changed_paths']:>6} {row['migration_files']:>6} "
            f"{row['operations']:>5} {row['median_ms']:>10} {row['best_ms']:>8} "
            f"{row['median_cpu_ms']:>7} "
            f"{row['peak_mib']:>9} {row['stored_json_kib']:>9}"
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
