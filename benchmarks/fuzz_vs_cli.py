"""The gate's fuzz items against Schemathesis' own CLI, like with like, and how their cost grows with operations.

Part 1, on a copy of examples/bookshelf, each run ``--runs`` times (medians are printed; the machine is shared):
- the gate: ``pytest --backend-report -m fuzz --backend-no-quality`` (in-process ASGI), serially, with ``-n``
  (``--workers``), and with ``--assert=plain`` (pytest's assertion rewriting of every imported plugin module left out);
- Schemathesis' CLI (``schemathesis run``) over HTTP against the same app under uvicorn on loopback.
Both run the same phases (``--phases``, default examples,coverage,fuzzing), the same number of Hypothesis examples
per operation (``--max-examples``/``--backend-fuzz-examples``), valid and invalid data mixed (``--mode all``), the
same seed, and act as a librarian. Printed per run kind: wall time, CPU time of the process tree (the CLI's
excludes the uvicorn server, whose start-up is printed apart), requests, and distinct failures as
(operation, failure code) pairs; for the gate, where the time goes (start-up, then inside the items:
generation and other work, transport including the app's own work, checks; and per phase).

Part 1 ends with the gate's floor: its start-up up to the end of collection plus the app's own work on the requests
(the in-process transport time), against half the CLI's wall time.

Part 2: the gate's fuzz items on generated FastAPI apps with 10, 50 and 200 operations, serially and with ``-n``
(``--workers``, default the number of cores), and the CLI against the same app.

    python benchmarks/fuzz_vs_cli.py [--examples 25] [--seed 1] [--runs 3] [--sizes 10,50,200] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "bookshelf"
sys.path.insert(0, str(ROOT))

from pytest_backend_agent.backend.live import free_port, wait_until_answering  # noqa: E402


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall time, CPU time (user + system, of the command and its children) and result of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a running process has used so far, from /proc (None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gate_arguments(report: Path, examples: int, seed: int, phases: str) -> list[str]:
    """The pytest command line of a fuzz-only gate run."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--backend-report={report}",
        "-m",
        "fuzz",
        "--backend-no-quality",
        f"--backend-fuzz-examples={examples}",
        f"--backend-fuzz-seed={seed}",
        f"--backend-fuzz-phases={phases}",
        "--backend-fuzz-budget=100000",
    ]


def gate_start_up(folder: Path, examples: int, seed: int, phases: str) -> float:
    """Wall time of the same gate command stopped after collection (``--collect-only``): Python, pytest, the
    plugins, the packet and the items, everything a gate run pays before its first request."""
    wall, _, _ = run([*gate_arguments(folder / "unused.json", examples, seed, phases), "--collect-only"], folder)
    return wall


def gate_figures(report_path: Path) -> dict[str, Any]:
    """Requests, distinct failures and the time split of the fuzz items in a gate report."""
    report = json.loads(report_path.read_text())
    fuzzed = [c for c in report["gate"]["checks"] if c["check"] == "fuzz.operation"]
    seconds = [c["observations"].get("seconds", {}) for c in fuzzed]
    split = {
        key: sum(s.get(key, 0.0) for s in seconds) for key in ("total", "transport", "checks", "generation_and_other")
    }
    phases: dict[str, float] = {}
    for s in seconds:
        for phase, value in s.get("phases", {}).items():
            phases[phase] = phases.get(phase, 0.0) + value
    failures = {
        (f["location"]["endpoint"], f["evidence"].split(",")[0].split(";")[0])
        for f in report["gate"]["findings"]
        if f["check"] == "fuzz.operation"
    }
    return {
        "requests": sum(c["observations"].get("fuzz_requests", 0) for c in fuzzed),
        "failures": failures,
        "split": split,
        "phases": phases,
    }


def gate_run(folder: Path, examples: int, seed: int, phases: str, *extra: str) -> tuple[float, float, dict[str, Any]]:
    """The gate's fuzz items in ``folder``."""
    report = folder / "fuzz-report.json"
    report.unlink(missing_ok=True)
    for database in folder.glob("*.db"):
        database.unlink()
    wall, cpu, done = run([*gate_arguments(report, examples, seed, phases), *extra], folder)
    if not report.exists():
        raise SystemExit(f"the gate wrote no report:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return wall, cpu, gate_figures(report)


def cli_run(
    folder: Path, examples: int, seed: int, phases: str, app: str = "bookshelf.main:app"
) -> tuple[float, float, dict[str, Any]]:
    """Schemathesis' CLI against ``app`` under uvicorn (its start-up is timed apart); the example is called as a
    librarian, a generated app without credentials."""
    password = secrets.token_urlsafe(12)
    database = folder / "cli.db"
    database.unlink(missing_ok=True)
    env = {
        **os.environ,
        "BOOKSHELF_DATABASE_URL": f"sqlite:///{database}",
        "BOOKSHELF_JWT_SECRET": secrets.token_urlsafe(32),
        "BOOKSHELF_RATE_LIMIT": "off",
        "BOOKSHELF_BOOTSTRAP_USERS": json.dumps(
            [{"email": "l@bookshelf.test", "password": password, "role": "librarian"}]
        ),
    }
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen(  # noqa: S603 - our own example on loopback
        [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "critical"],
        cwd=folder,
        env=env,
    )
    try:
        if not wait_until_answering(f"http://127.0.0.1:{port}/", time.monotonic() + 30, server):
            raise SystemExit("uvicorn did not start")
        server_start = time.perf_counter() - started
        headers: list[str] = []
        if app.startswith("bookshelf"):
            token = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/auth/token", json={"email": "l@bookshelf.test", "password": password}
            ).json()["access_token"]
            headers = ["-H", f"Authorization: Bearer {token}"]
        report = folder / "cli-report.json"
        report.unlink(missing_ok=True)
        server_before = process_cpu(server.pid)
        wall, cpu, done = run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
                "--max-examples",
                str(examples),
                "--seed",
                str(seed),
                "--mode",
                "all",
                "--phases",
                phases,
                *headers,
                "--report",
                "json",
                "--report-json-path",
                str(report),
            ],
            folder,
        )
        server_after = process_cpu(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    if not report.exists():
        raise SystemExit(f"the CLI wrote no report:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    data = json.loads(report.read_text())
    failures = {(operation, group["code"]) for group in data["failures"] for operation in group["operations"]}
    server_cpu = server_after - server_before if server_before is not None and server_after is not None else None
    return (
        wall,
        cpu,
        {
            "requests": data["test_cases"]["generated"],
            "failures": failures,
            "server_start": server_start,
            "server_cpu": server_cpu,
        },
    )


def generated_app(folder: Path, operations: int) -> None:
    """A FastAPI app with ``operations`` GET operations and its packet."""
    lines = ["from fastapi import FastAPI", "app = FastAPI()"]
    endpoints = []
    for index in range(operations):
        lines += [
            f'@app.get("/api/items{index}/{{item_id}}")',
            f"def get_{index}(item_id: int, q: str | None = None) -> dict:",
            f'    return {{"id": item_id, "n": {index}}}',
        ]
        endpoints.append({"method": "GET", "path": f"/api/items{index}/{{item_id}}", "authentication_required": False})
    (folder / "gen_app").mkdir()
    (folder / "gen_app" / "__init__.py").write_text("")
    (folder / "gen_app" / "main.py").write_text("\n".join(lines) + "\n")
    packet = {
        "packet_version": "1.0",
        "project": {"name": "generated"},
        "api": {"base_path": "/api", "endpoints": endpoints},
    }
    (folder / "packet.json").write_text(json.dumps(packet))
    (folder / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nbackend_app = "gen_app.main:app"\n'
        'backend_src = "gen_app"\nbackend_packet = "packet.json"\n'
    )


def median_of(results: list[tuple[float, float, dict[str, Any]]]) -> tuple[float, float, dict[str, Any]]:
    """Median wall and CPU of several runs, with the figures of the run closest to the median wall."""
    walls = [r[0] for r in results]
    wall = statistics.median(walls)
    closest = min(results, key=lambda r: abs(r[0] - wall))
    return wall, statistics.median(r[1] for r in results), closest[2]


def main() -> None:
    """Run both parts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--phases", default="examples,coverage,fuzzing")
    parser.add_argument("--sizes", default="10,50,200")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="xdist workers in part 2")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "bookshelf"
        shutil.copytree(
            EXAMPLE, folder, ignore=shutil.ignore_patterns("backend-engineer", "system", "*.db", "__pycache__")
        )
        print(
            f"examples/bookshelf, phases {args.phases}, {args.examples} examples per operation, seed {args.seed}, "
            f"median of {args.runs} runs"
        )
        kinds: list[tuple[str, Any]] = [
            ("gate, in-process", lambda: gate_run(folder, args.examples, args.seed, args.phases)),
            (
                f"gate, in-process, -n {args.workers}",
                lambda: gate_run(folder, args.examples, args.seed, args.phases, "-n", str(args.workers)),
            ),
            ("gate, --assert=plain", lambda: gate_run(folder, args.examples, args.seed, args.phases, "--assert=plain")),
            ("schemathesis CLI, HTTP", lambda: cli_run(folder, args.examples, args.seed, args.phases)),
        ]
        found: dict[str, set[tuple[str, str]]] = {}
        walls: dict[str, float] = {}
        details: dict[str, dict[str, Any]] = {}
        for label, once in kinds:
            wall, cpu, figures = median_of([once() for _ in range(args.runs)])
            found[label] = figures["failures"]
            line = (
                f"  {label:<24} wall {wall:6.2f} s, CPU {cpu:6.2f} s, {figures['requests']} requests, "
                f"{len(figures['failures'])} distinct failures"
            )
            if "split" in figures:
                split, phases = figures["split"], figures["phases"]
                line += (
                    f"; start-up and the rest {wall - split['total']:.2f} s, items {split['total']:.2f} s "
                    f"(generation+other {split['generation_and_other']:.2f}, transport {split['transport']:.2f}, "
                    f"checks {split['checks']:.2f}; " + ", ".join(f"{p} {s:.2f}" for p, s in phases.items()) + ")"
                )
            else:
                line += f"; the uvicorn server it needs took {figures['server_start']:.2f} s to start (not counted)"
                if figures["server_cpu"] is not None:
                    line += f" and used {figures['server_cpu']:.2f} s of CPU during the run (the app's own work)"
            print(line)
            walls[label], details[label] = wall, figures
        cli, gate = found["schemathesis CLI, HTTP"], found["gate, in-process"]
        print(
            f"  failures both found: {len(cli & gate)}; only the CLI: {sorted(cli - gate)}; "
            f"only the gate: {sorted(gate - cli)}"
        )
        start_up = statistics.median(
            gate_start_up(folder, args.examples, args.seed, args.phases) for _ in range(args.runs)
        )
        app_work = details["gate, in-process"]["split"]["transport"]
        print(
            f"  half the CLI's wall: {walls['schemathesis CLI, HTTP'] / 2:.2f} s; the gate's floor before generating "
            f"a single case: start-up to the end of collection {start_up:.2f} s + the app's own work on the same "
            f"requests (in-process transport) {app_work:.2f} s = {start_up + app_work:.2f} s"
        )
    print(f"scaling (generated GET operations, 10 examples, phases {args.phases}), the gate and the CLI")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as temporary:
            folder = Path(temporary)
            generated_app(folder, size)
            wall, cpu, figures = gate_run(folder, 10, args.seed, args.phases)
            items = figures["split"]["total"]
            print(
                f"  {size:>4} operations: wall {wall:7.2f} s, CPU {cpu:7.2f} s, {figures['requests']} requests, "
                f"items {items:.2f} s = {items / size * 1000:6.1f} ms per operation, "
                f"start-up and the rest {wall - items:.2f} s"
            )
            parallel_wall, parallel_cpu, _ = gate_run(folder, 10, args.seed, args.phases, "-n", str(args.workers))
            print(f"        gate -n {args.workers}: wall {parallel_wall:7.2f} s, CPU {parallel_cpu:7.2f} s")
            cli_wall, cli_cpu, cli_figures = cli_run(folder, 10, args.seed, args.phases, app="gen_app.main:app")
            print(
                f"        CLI over HTTP: wall {cli_wall:7.2f} s, CPU {cli_cpu:7.2f} s, {cli_figures['requests']} "
                f"requests (+{cli_figures['server_start']:.2f} s server start); gate/CLI wall {wall / cli_wall:.2f}, "
                f"gate -n {args.workers}/CLI wall {parallel_wall / cli_wall:.2f}"
            )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
