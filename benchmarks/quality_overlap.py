"""The whole gate on examples/bookshelf with its static tools overlapped, against the same tools run one by one.

In a copy of examples/bookshelf:

- **overlapped**: ``pytest --backend-report``: the project's tests, the gate's checks, coverage, and ruff / mypy
  started in the background at the start of the session;
- **one after another**: ``pytest --backend-report -m "not quality"`` (the same session without the tool items)
  and then, from the shell, ``ruff check``, ``ruff format --check`` and ``mypy`` on the source folder, each
  after the previous one ended.

Each variant runs ``--runs`` times; the median wall time of each is printed. With ``--cold`` every run gets an
empty mypy cache (the first run on a fresh checkout), otherwise the cache is warmed once first.

    python benchmarks/quality_overlap.py [--runs 3] [--cold]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "bookshelf"
TOOLS = (
    ("ruff", "check", "bookshelf"),
    ("ruff", "format", "--check", "bookshelf"),
    ("mypy", "bookshelf"),
)


def run(folder: Path, env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> float:
    """Wall time of one command in ``folder``; it must end with a status in ``ok``."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", *args], cwd=folder, env=env, capture_output=True, check=False)  # noqa: S603
    elapsed = time.perf_counter() - started
    if elapsed > 60:
        print(f"slow run ({elapsed:.0f} s) of {' '.join(args)}:\n{done.stdout.decode()[-1500:]}")
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout.decode()[-3000:]}")
    return elapsed


def overlapped(folder: Path, env: dict[str, str]) -> float:
    """The whole gate in one session (the slowest items are printed when it takes longer than a minute)."""
    return run(folder, env, "pytest", "-q", "-p", "no:cacheprovider", "--backend-report", "--durations=3")


TOOL_TIMES: list[float] = []
"""The tools' share of each one-after-another run."""


def one_after_another(folder: Path, env: dict[str, str]) -> float:
    """The gate without its tool items, then each tool from the shell."""
    total = run(folder, env, "pytest", "-q", "-p", "no:cacheprovider", "--backend-report", "-m", "not quality")
    tools = sum(run(folder, env, *tool) for tool in TOOLS)
    TOOL_TIMES.append(tools)
    return total + tools


def main() -> None:
    """Run both variants and print their wall times."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="an empty mypy cache for every run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "bookshelf"
        shutil.copytree(
            EXAMPLE,
            folder,
            ignore=shutil.ignore_patterns(
                "backend-engineer", "system", "*.db", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"
            ),
        )
        env = dict(os.environ)
        if not args.cold:
            run(folder, env, "mypy", "bookshelf")
        times: dict[str, list[float]] = {"overlapped": [], "one after another": []}
        for index in range(args.runs):
            for name, variant in (("overlapped", overlapped), ("one after another", one_after_another)):
                if args.cold:
                    env["MYPY_CACHE_DIR"] = str(Path(temporary) / f"mypy-cache-{variant.__name__}-{index}")
                times[name].append(variant(folder, env))
        cache = "cold (empty) mypy cache" if args.cold else "warm mypy cache"
        print(f"examples/bookshelf, {args.runs} run(s) each, {cache}, {os.cpu_count()} CPUs")
        for name, values in times.items():
            print(
                f"{name:<20} median {statistics.median(values):6.2f} s, best {min(values):6.2f} s  (runs: "
                + ", ".join(f"{t:.2f}" for t in values)
                + ")"
            )
        print(f"{'(the tools alone)':<20} median {statistics.median(TOOL_TIMES):6.2f} s")
        saved = statistics.median(times["one after another"]) - statistics.median(times["overlapped"])
        best = min(times["one after another"]) - min(times["overlapped"])
        print(f"overlapping saves {saved:.2f} s (medians), {best:.2f} s (best runs)")


if __name__ == "__main__":
    main()
