"""Runs every benchmark in bench/ and writes bench/results/*.json (`make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
BENCHMARKS = ["pk_bench.py", "pages_bench.py", "sessions_bench.py", "ledger_bench.py"]


def main() -> int:
    failed = []
    for script in BENCHMARKS:
        print(f"== {script}", flush=True)
        if subprocess.run([sys.executable, str(BENCH_DIR / script)], check=False).returncode:
            failed.append(script)
    if failed:
        print(f"benchmarks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"results in {BENCH_DIR / 'results'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
