"""Side-by-side timing of leaklint and the linters people already run.

    python benchmarks/bench.py                  # the 129k-line corpus, 5 runs each
    python benchmarks/bench.py --corpus large   # ~1M lines (adds celery, django, ...)
    python benchmarks/bench.py --runs 3 --only leaklint,floor

Builds a pinned corpus with `pip install --no-deps --target` and one virtualenv per
other tool under $LEAKLINT_BENCH_DIR (default: /tmp/leaklint-bench), then runs each command several
times in one session on the same machine and prints a markdown table: median wall
time, its ratio to the `ast.parse` floor, peak memory of the process tree's largest
process, and lines per second. Not a test: its output goes into docs/performance.md.
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
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# Outside the repository: Fixit (trailrunner) skips what the repository's .gitignore
# lists, and would lint nothing.
WORK = Path(os.environ.get("LEAKLINT_BENCH_DIR") or Path(tempfile.gettempdir()) / "leaklint-bench")

# The corpora: concurrency-heavy packages, versions pinned so runs are comparable.
SMALL = [
    "aiohttp==3.14.5", "aiokafka==0.14.0", "aio-pika==10.2.1", "aiormq==7.2.4", "anyio==4.16.0",
    "httpcore==1.0.9", "httpx==0.28.1", "starlette==1.10.0", "uvicorn==0.54.0", "websockets==17.4",
]
LARGE = SMALL + [
    "celery==5.7.0", "kombu==5.7.0", "redis==8.1.0", "faststream==0.7.8", "confluent-kafka==2.16.1",
    "trio==0.35.0", "tornado==6.6.1", "twisted==26.10.0", "django==5.2.19",
]

TOOLS = {
    # name: packages for its own virtualenv (None: the current interpreter, i.e. leaklint's)
    "flake8": ["flake8==7.5.0"],
    "bugbear": ["flake8==7.5.0", "flake8-bugbear==26.10.27"],
    "fixit": ["fixit==2.2.1"],
}


def build_corpus(name: str) -> Path:
    target = WORK / f"corpus-{name}"
    marker = target / ".complete"
    if not marker.exists():
        shutil.rmtree(target, ignore_errors=True)
        packages = SMALL if name == "small" else LARGE
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                        "--target", str(target), *packages], check=True)
        for junk in target.glob("*.dist-info"):
            shutil.rmtree(junk)
        shutil.rmtree(target / "bin", ignore_errors=True)
        marker.write_text("\n".join(packages))
    return target


def tool_python(name: str) -> Path:
    env = WORK / f"venv-{name}"
    python = env / "bin" / "python"
    if not python.exists():
        venv.create(env, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *TOOLS[name]], check=True)
    return python


def count(corpus: Path) -> tuple:
    files = lines = 0
    for folder, _dirs, names in os.walk(corpus):
        for name in names:
            if name.endswith(".py"):
                files += 1
                with open(os.path.join(folder, name), "rb") as handle:
                    lines += handle.read().count(b"\n")
    return files, lines


def past_prefilter(corpus: Path) -> tuple:
    """Files (and lines) that hold a trigger word of the default rules, which leaklint
    parses with `ast`; and the files and non-blank lines the sieve then gives libcst
    (see leaklint/sieve.py). The rest it only reads."""
    sys.path.insert(0, str(REPO))
    from sieve_check import libcst_lines  # beside this script

    from leaklint.config import Settings
    from leaklint.engine import selected_rules, trigger_pattern

    settings = Settings()
    rules = selected_rules(settings)
    pattern = trigger_pattern(rules, settings)
    files = lines = sieved_files = sieved_lines = 0
    for folder, _dirs, names in os.walk(corpus):
        for name in names:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as handle:
                    text = handle.read().decode("utf-8", "replace")
                if pattern is None or pattern.search(text):
                    files += 1
                    lines += text.count("\n")
                    sliced = libcst_lines(text, rules, settings)
                    if sliced is not None:
                        sieved_files += 1
                        sieved_lines += sliced
    return files, lines, sieved_files, sieved_lines


def measure(command: list, cwd: Path, env: dict) -> tuple:
    """Wall seconds and the peak RSS (MB) of the largest process in the tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}: {err[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is in KB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=["small", "large"], default="small")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", help="run only the rows whose name contains one of these (comma-separated)")
    args = parser.parse_args()

    corpus = build_corpus(args.corpus)
    files, lines = count(corpus)
    py = sys.executable
    env = dict(os.environ, PYTHONHASHSEED="0", NO_COLOR="1")
    # as installed tools run: from cached bytecode (an editable install under
    # PYTHONDONTWRITEBYTECODE would compile leaklint's own modules on every run)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    scratch = Path(tempfile.mkdtemp(prefix="leaklint-bench-"))  # cwd: no pyproject, cache lands here

    stress = write_stress_files(scratch)

    floor = HERE / "floor.py"
    leaklint = [py, "-m", "leaklint", "check", "-q", "--exit-zero"]
    rows = [
        ("read + ast.parse (the floor)", [py, str(floor), "ast", str(corpus)], None),
        ("read + libcst.parse_module", [py, str(floor), "libcst", str(corpus)], None),
        ("leaklint cold, -j 1", leaklint + ["--no-cache", "--jobs", "1", str(corpus)], None),
        ("leaklint cold, default jobs", leaklint + ["--no-cache", str(corpus)], None),
        ("leaklint warm cache, -j 1", leaklint + ["--jobs", "1", str(corpus)], "warm"),
        ("flake8 -j 1 (pycodestyle + pyflakes)", ["flake8", "-j", "1", "--exit-zero", str(corpus)], "flake8"),
        ("flake8 -j 1 + leaklint plugin", [py, "-m", "flake8", "-j", "1", "--exit-zero", str(corpus)], None),
        ("flake8 -j 1 + flake8-bugbear", ["flake8", "-j", "1", "--exit-zero", str(corpus)], "bugbear"),
        ("Fixit 2, default rules", ["fixit", "lint", str(corpus)], "fixit"),
    ]
    # one file each, not the corpus: their lines/s and ratio to the floor are their own
    stress_rows = [
        (f"leaklint -j 1, {label}", leaklint + ["--no-cache", "--jobs", "1", str(path)], None)
        for label, path in stress
    ]
    results = []
    for name, command, extra in rows + stress_rows:
        if args.only and not any(part in name for part in args.only.split(",")):
            continue
        if extra in TOOLS:
            tool = tool_python(extra)
            command = [str(tool.parent / command[0]), *command[1:]]
        measure(command, scratch, env)  # bytecode written, and for "warm" the cache filled
        times, peaks = [], []
        for _ in range(args.runs):
            seconds, peak = measure(command, scratch, env)
            times.append(seconds)
            peaks.append(peak)
        results.append((name, statistics.median(times), max(peaks)))
        print(f"  {name}: {statistics.median(times):.2f} s", file=sys.stderr)

    floor_seconds = next((s for n, s, _ in results if n.startswith("read + ast")), None)
    print(f"\nCorpus: {args.corpus}, {files} files, {lines} lines; {args.runs} runs each, median; "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    parsed_files, parsed_lines, sieved_files, sieved_lines = past_prefilter(corpus)
    print(f"Past leaklint's text pre-filter (parsed with ast): {parsed_files} files, {parsed_lines} lines "
          f"({parsed_lines / max(lines, 1):.0%} of the lines); past the sieve (parsed with libcst): "
          f"{sieved_files} files, {sieved_lines} non-blank lines ({sieved_lines / max(lines, 1):.1%})\n")
    print("| tool | seconds | x floor | peak MB | lines/s |")
    print("|---|---:|---:|---:|---:|")
    stress_names = {name for name, _command, _extra in stress_rows}
    for name, seconds, peak in results:
        if name in stress_names:
            continue
        ratio = f"{seconds / floor_seconds:.2f}" if floor_seconds else "-"
        print(f"| {name} | {seconds:.2f} | {ratio} | {peak:.0f} | {lines / seconds:,.0f} |")
    stressed = [(name, seconds, peak) for name, seconds, peak in results if name in stress_names]
    if stressed:
        print("\nOne generated file each (time must grow linearly with its size):\n")
        print("| input | seconds | peak MB |")
        print("|---|---:|---:|")
        for name, seconds, peak in stressed:
            print(f"| {name} | {seconds:.2f} | {peak:.0f} |")
    shutil.rmtree(scratch, ignore_errors=True)


STRESS_SIZES = (1000, 5000)


def write_stress_files(folder: Path) -> list:
    """Generated worst cases: one function with N `open(p).read()` lines, each an
    LL204 finding with a fix that must pick a free name in that function (once
    quadratic: 1 000 lines took 40 s)."""
    made = []
    for size in STRESS_SIZES:
        path = folder / f"ll204_{size}.py"
        lines = ["def load(p):\n"] + [f"    x{i} = open(p).read()\n" for i in range(size)]
        path.write_text("".join(lines))
        made.append((f"{size} `open(p).read()` in one function (LL204)", path))
    return made


if __name__ == "__main__":
    main()
