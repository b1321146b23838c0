"""The gate's fuzz phase against Schemathesis' own CLI, and how its cost grows with the number of operations.

Part 1, on a copy of examples/bookshelf with the same examples per operation and the same seed:
- the gate: ``pytest --backend-report -m fuzz`` (in-process ASGI), serially and with ``-n 2``;
- Schemathesis' CLI over HTTP against the same app under uvicorn on loopback (``schemathesis run``, fuzzing
  phase, positive and negative data, a librarian token).
It prints wall time, requests/second, distinct failures, and where the gate's time goes.

Part 2: the gate's fuzz phase on generated FastAPI apps with 10, 50 and 200 operations.

    python benchmarks/fuzz_vs_cli.py [--examples 25] [--seed 1] [--sizes 10,50,200]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
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
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time and result of one command."""
    started = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    return time.perf_counter() - started, done


def gate_figures(report_path: Path) -> dict[str, Any]:
    """Requests, distinct failures and the time split of the fuzz items in a gate report."""
    report = json.loads(report_path.read_text())
    fuzzed = [c for c in report["gate"]["checks"] if c["check"] == "fuzz.operation"]
    split = {key: sum(c["observations"].get("seconds", {}).get(key, 0.0) for c in fuzzed)
             for key in ("total", "transport", "checks", "generation_and_other")}
    return {
        "requests": sum(c["observations"].get("fuzz_requests", 0) for c in fuzzed),
        "failures": len([f for f in report["gate"]["findings"] if f["check"] == "fuzz.operation"]),
        "split": split,
    }


def gate_run(folder: Path, examples: int, seed: int, *extra: str) -> tuple[float, dict[str, Any]]:
    """The gate's fuzz phase in ``folder``."""
    report = folder / "fuzz-report.json"
    wall, done = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--backend-report={report}",
                      "-m", "fuzz", f"--backend-fuzz-examples={examples}", f"--backend-fuzz-seed={seed}", *extra],
                     folder)
    if not report.exists():
        raise SystemExit(f"the gate wrote no report:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return wall, gate_figures(report)


def cli_run(folder: Path, examples: int, seed: int) -> tuple[float, dict[str, Any]]:
    """Schemathesis' CLI against the example under uvicorn."""
    password = secrets.token_urlsafe(12)
    env = {**os.environ, "BOOKSHELF_DATABASE_URL": f"sqlite:///{folder / 'cli.db'}",
           "BOOKSHELF_JWT_SECRET": secrets.token_urlsafe(32), "BOOKSHELF_RATE_LIMIT": "off",
           "BOOKSHELF_BOOTSTRAP_USERS": json.dumps([{"email": "l@bookshelf.test", "password": password,
                                                     "role": "librarian"}])}
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own example on loopback
        [sys.executable, "-m", "uvicorn", "bookshelf.main:app", "--port", str(port), "--log-level", "critical"],
        cwd=folder, env=env,
    )
    try:
        if not wait_until_answering(f"http://127.0.0.1:{port}/", time.monotonic() + 30, server):
            raise SystemExit("uvicorn did not start")
        token = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/token",
                           json={"email": "l@bookshelf.test", "password": password}).json()["access_token"]
        report = folder / "cli-report.json"
        wall, done = run([sys.executable, "-m", "schemathesis.cli", "run", f"http://127.0.0.1:{port}/openapi.json",
                          "--max-examples", str(examples), "--seed", str(seed), "--mode", "all",
                          "--phases", "fuzzing", "-H", f"Authorization: Bearer {token}",
                          "--report", "json", "--report-json-path", str(report)], folder)
    finally:
        server.terminate()
        server.wait(timeout=10)
    figures: dict[str, Any] = {"requests": None, "failures": None}
    if report.exists():
        data = json.loads(report.read_text())
        figures["raw"] = data
    figures["tail"] = done.stdout.strip().splitlines()[-6:]
    return wall, figures


def generated_app(folder: Path, operations: int) -> None:
    """A FastAPI app with ``operations`` GET operations and its packet."""
    lines = ["from fastapi import FastAPI", "app = FastAPI()"]
    endpoints = []
    for index in range(operations):
        lines += [f'@app.get("/api/items{index}/{{item_id}}")',
                  f"def get_{index}(item_id: int, q: str | None = None) -> dict:",
                  f'    return {{"id": item_id, "n": {index}}}']
        endpoints.append({"method": "GET", "path": f"/api/items{index}/{{item_id}}", "authentication_required": False})
    (folder / "gen_app").mkdir()
    (folder / "gen_app" / "__init__.py").write_text("")
    (folder / "gen_app" / "main.py").write_text("\n".join(lines) + "\n")
    packet = {"packet_version": "1.0", "project": {"name": "generated"},
              "api": {"base_path": "/api", "endpoints": endpoints}}
    (folder / "packet.json").write_text(json.dumps(packet))
    (folder / "pyproject.toml").write_text('[tool.pytest.ini_options]\nbackend_app = "gen_app.main:app"\n'
                                           'backend_src = "gen_app"\nbackend_packet = "packet.json"\n')


def main() -> None:
    """Run both parts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sizes", default="10,50,200")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "bookshelf"
        shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("backend-engineer", "system", "*.db",
                                                                        "__pycache__"))
        print(f"examples/bookshelf, {args.examples} examples per operation and mode, seed {args.seed}")
        for label, extra in (("gate, in-process", ()), ("gate, in-process, -n 2", ("-n", "2"))):
            wall, figures = gate_run(folder, args.examples, args.seed, *extra)
            split = figures["split"]
            print(f"  {label:<28} wall {wall:6.2f} s, {figures['requests']} requests, "
                  f"{figures['requests'] / wall:6.1f} req/s over the wall, {figures['failures']} distinct failures; "
                  f"inside items: generation+other {split['generation_and_other']:.2f} s, transport "
                  f"{split['transport']:.2f} s, checks {split['checks']:.2f} s; start-up and the rest "
                  f"{wall - split['total']:.2f} s")
        wall, figures = cli_run(folder, args.examples, args.seed)
        print(f"  {'schemathesis CLI, HTTP':<28} wall {wall:6.2f} s; its summary: "
              + " | ".join(line.strip() for line in figures["tail"] if line.strip()))
    print("scaling of the gate's fuzz phase (generated GET operations, 10 examples per mode)")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as temporary:
            folder = Path(temporary)
            generated_app(folder, size)
            wall, figures = gate_run(folder, 10, args.seed, "--backend-fuzz-budget=100000")
            print(f"  {size:>4} operations: wall {wall:7.2f} s, {figures['requests']} requests, "
                  f"{(wall) / size * 1000:7.1f} ms per operation (all in), items {figures['split']['total']:.2f} s")


if __name__ == "__main__":
    main()
