"""How long the gate adds to the example backend's own test run.

Runs, in a copy of examples/bookshelf, ``pytest`` (the project's own tests) and ``pytest --backend-report``
(the same tests plus the gate), serially and with ``-n 2``, a few times each, and prints median wall times.

    python benchmarks/gate_bookshelf.py [--runs 3]
    python benchmarks/gate_bookshelf.py --runs 3 --performance   # what the performance family adds

``--performance`` runs only the gate (``-m backend_gate``) with and without the performance family, alternating
run by run so that a change in the machine's load touches both alike.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "bookshelf"


def wall(folder: Path, *args: str) -> float:
    """Wall time of one pytest run in ``folder`` (it must pass)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],  # noqa: S603
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--performance", action="store_true", help="only: the gate with and without performance")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "bookshelf"
        shutil.copytree(
            EXAMPLE, folder, ignore=shutil.ignore_patterns("backend-engineer", "system", "*.db", "__pycache__")
        )
        variants = {
            "own tests only": (),
            "own tests + gate": ("--backend-report",),
            "own tests only, -n 2": ("-n", "2"),
            "own tests + gate, -n 2": ("--backend-report", "-n", "2"),
            "gate only (-m backend_gate)": ("--backend-report", "-m", "backend_gate"),
        }
        if args.performance:
            with_it = ("--backend-report", "-m", "backend_gate")
            without = ("--backend-report", "-m", "backend_gate and not performance")
            pairs = [(wall(folder, *without), wall(folder, *with_it)) for _ in range(args.runs)]
            for index, name in enumerate(("gate without performance", "gate with performance")):
                times = [pair[index] for pair in pairs]
                print(
                    f"{name:<30} median {statistics.median(times):6.2f} s  (runs: "
                    + ", ".join(f"{t:.2f}" for t in times)
                    + ")"
                )
            print(f"{'added by performance':<30} median {statistics.median(b - a for a, b in pairs):6.2f} s")
            return
        for name, extra in variants.items():
            times = [wall(folder, *extra) for _ in range(args.runs)]
            print(
                f"{name:<30} median {statistics.median(times):6.2f} s  (runs: "
                + ", ".join(f"{t:.2f}" for t in times)
                + ")"
            )


if __name__ == "__main__":
    main()
