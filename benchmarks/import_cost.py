"""What the plugin costs a pytest run that does not ask for the gate.

Times ``pytest --co -q`` on a tiny throw-away project with the plugin loaded (but not enabled) and with
``-p no:backend_agent``, several times each, and prints the medians and the difference. Also lists which
heavy modules the plugin's import pulls in (there should be none).

    python benchmarks/import_cost.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Other plugins installed beside ours (Schemathesis' and Hypothesis' own pytest plugins import their libraries);
# they are disabled in both runs so the difference measures this plugin alone.
OTHERS = ("schemathesis", "hypothesispytest", "anyio", "pytest_cov", "xdist", "xdist.looponfail")
HEAVY = ("schemathesis", "pydantic", "hypothesis", "httpx", "jsonschema", "anyio", "sqlalchemy")


def timed_run(folder: Path, *extra: str) -> float:
    """Wall time of one ``pytest --co -q`` in ``folder``."""
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own interpreter
        [
            sys.executable,
            "-m",
            "pytest",
            "--co",
            "-q",
            "-p",
            "no:cacheprovider",
            *(arg for name in OTHERS for arg in ("-p", f"no:{name}")),
            *extra,
        ],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def plugin_import_ms(runs: int) -> float:
    """Median time to import the plugin module once pytest is imported, in a fresh interpreter each time."""
    code = (
        "import time, pytest; t = time.perf_counter(); import pytest_backend_agent.plugin; "
        "print(time.perf_counter() - t)"
    )
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", code],
                check=True,
                capture_output=True,  # noqa: S603
                text=True,
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(samples) * 1000


def heavy_modules_after_plugin_import() -> list[str]:
    """Heavy modules present after importing the plugin module in a fresh interpreter."""
    code = f"import sys, pytest_backend_agent.plugin; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)  # noqa: S603
    return [m for m in out.stdout.strip().split(",") if m]


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "pytest.ini").write_text("[pytest]\n")
        (folder / "test_x.py").write_text("def test_x():\n    pass\n")
        timed_run(folder)  # warm the file cache
        enabled, disabled = [], []
        for _ in range(args.runs):
            enabled.append(timed_run(folder))
            disabled.append(timed_run(folder, "-p", "no:backend_agent"))
    with_plugin = statistics.median(enabled) * 1000
    without = statistics.median(disabled) * 1000
    print(f"pytest --co, plugin installed but gate off: median {with_plugin:.1f} ms over {args.runs} runs")
    print(f"pytest --co, -p no:backend_agent:           median {without:.1f} ms over {args.runs} runs")
    print(f"cost of the plugin when not enabled:        {with_plugin - without:+.1f} ms (target: under 20 ms)")
    print(f"import of pytest_backend_agent.plugin alone: median {plugin_import_ms(args.runs):.2f} ms")
    print(f"heavy modules imported by the plugin module: {heavy_modules_after_plugin_import() or 'none'}")


if __name__ == "__main__":
    main()
