"""Run every benchmark in sequence with its default arguments (``make bench``).

Order: ``speed``, ``extraction_speed``, ``evaluation_speed``, then ``quality`` when
``benchmarks/quality.py`` exists. Each runs in its own Python process (the same
interpreter as this one), writes its ``benchmarks/results/<name>.json`` and prints its
own summary; a benchmark that fails is reported and the others still run. The exit
code is 1 if any failed.

    python benchmarks/run.py [--only NAME ...] [--skip NAME ...] [--list]

Arguments after ``--`` are passed to every benchmark run (e.g. ``-- --repeats 5``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: every benchmark, in the order ``make bench`` runs them; missing files are skipped
BENCHMARKS = ("speed", "extraction_speed", "evaluation_speed", "quality")


def available() -> list[str]:
    """The benchmarks whose script exists (``quality`` is optional)."""
    return [name for name in BENCHMARKS if (HERE / f"{name}.py").is_file()]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=None, metavar="NAME", help="run only this benchmark (repeatable)")
    parser.add_argument("--skip", action="append", default=[], metavar="NAME", help="skip this benchmark (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    names = available()
    if args.list:
        for name in BENCHMARKS:
            print(f"{name}{'' if name in names else ' (not present)'}")
        return 0
    unknown = sorted((set(args.only or []) | set(args.skip)) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")
    if args.only:
        missing = [n for n in args.only if n not in names]
        if missing:
            parser.error(f"no script for: {', '.join(missing)}")
        names = [n for n in names if n in args.only]
    names = [n for n in names if n not in args.skip]

    outcomes: list[tuple[str, int, float]] = []
    for name in names:
        cmd = [sys.executable, str(HERE / f"{name}.py"), *extra]
        print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
        started = time.perf_counter()
        try:
            code = subprocess.run(cmd, cwd=HERE.parent).returncode
        except KeyboardInterrupt:
            print(f"\n=== {name}: interrupted", flush=True)
            return 130
        outcomes.append((name, code, time.perf_counter() - started))

    print("\n=== summary")
    for name, code, seconds in outcomes:
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"  {name:<18} {status:<18} {seconds:7.0f} s   results: benchmarks/results/{name}.json")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
