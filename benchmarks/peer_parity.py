"""Where leaklint stands against the peers on the peers' own test files.

    python benchmarks/peer_parity.py            # download, run, print the table
    python benchmarks/peer_parity.py --details  # also every finding, line by line

Downloads the source distributions of pylint, flake8-async and flake8-bugbear from the
package index at run time (nothing of theirs is kept in this repository), takes the test
files of the checks that overlap leaklint's domain, runs each peer on them (pylint,
flake8 with the two plugins, and ruff, which implements the same checks) and leaklint
with every rule selected, and prints the agreement table:

- agreed: a peer flags the line and leaklint flags it with a code of the same check;
- missed: a peer flags it and leaklint does not (each with its reason in
  benchmarks/peer_parity/verdicts.json, or "unexplained");
- out of scope: a peer flags it for a reason leaklint does not share on purpose (a
  bounded cache, a lock that is not a leak...), again with the reason from the file;
- leaklint only: leaklint flags a line no peer flags, with its verdict (true / false)
  from the same file, read by a person.

Ruff's own fixtures are not in its source distribution, so ruff is run on the other
peers' files. Work files go under $LEAKLINT_PEER_DIR (default /tmp/leaklint-peers).
Not a test: it needs the network and a few minutes; docs/peer-parity.md has its output.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import venv
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VERDICTS = HERE / "peer_parity" / "verdicts.json"
WORK = Path(os.environ.get("LEAKLINT_PEER_DIR") or Path(tempfile.gettempdir()) / "leaklint-peers")

# sdist -> the test files of the checks that overlap leaklint's domain
SOURCES = {
    "pylint==4.1.5": (
        "tests/functional/c/consider/consider_using_with.py",
        "tests/functional/c/consider/consider_using_with_open.py",
        "tests/functional/m/method_cache_max_size_none.py",
    ),
    "flake8-async==26.8.1": ("tests/eval_files/async300.py",),
    "flake8-bugbear==26.10.27": ("tests/eval_files/b019.py",),
}
PEER_TOOLS = ["pylint==4.1.5", "flake8==7.5.0", "flake8-async==26.8.1", "flake8-bugbear==26.10.27",
              "ruff==0.17.6"]

# a peer's check -> the leaklint codes that answer the same question
DOMAIN = {
    "consider-using-with": {"LL201", "LL202", "LL204"},
    "SIM115": {"LL201", "LL202", "LL204"},
    "method-cache-max-size-none": {"LL404"},
    "B019": {"LL404"},
    "ASYNC300": {"LL205"},
    "RUF006": {"LL205"},
}
LEAKLINT_DOMAIN = set().union(*DOMAIN.values())


def download_sources() -> dict:
    """{short name of the file: path} for every peer test file, extracted from the sdists."""
    sdists = WORK / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    files = {}
    for requirement, members in SOURCES.items():
        name, version = requirement.split("==")
        stem = f"{name.replace('-', '_')}-{version}"
        archive = sdists / f"{stem}.tar.gz"
        if not archive.exists():
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
                            ":all:", "-d", str(sdists), requirement], check=True)
        with tarfile.open(archive) as tar:
            for member in members:
                target = WORK / "files" / name / Path(member).name
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    data = tar.extractfile(f"{stem}/{member}").read()
                    target.write_bytes(data)
                files[f"{name}/{Path(member).name}"] = target
    return files


def tools_python() -> Path:
    env = WORK / "venv"
    python = env / "bin" / "python"
    if not python.exists():
        venv.create(env, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEER_TOOLS], check=True)
    return python


def run(cmd) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout


def peer_findings(python: Path, files: dict) -> dict:
    """{(file, line): {peer code, ...}} from pylint, flake8 (+ plugins) and ruff."""
    by_path = {str(path): short for short, path in files.items()}
    found = defaultdict(set)
    paths = [str(p) for p in files.values()]
    out = run([str(python), "-m", "pylint", "--disable=all", "--enable=consider-using-with,method-cache-max-size-none",
               "--output-format=json", "--score=n", *paths])
    for item in json.loads(out or "[]"):
        found[(by_path[item["path"]] if item["path"] in by_path else _short(item["path"], by_path), item["line"])].add(
            ("pylint", item["symbol"]))
    flake8 = python.parent / "flake8"
    out = run([str(flake8), "--select=ASYNC300,B019", "--format=%(path)s\t%(row)d\t%(code)s", *paths])
    for line in out.splitlines():
        path, row, code = line.split("\t")
        found[(_short(path, by_path), int(row))].add(("flake8", code))
    ruff = python.parent / "ruff"
    out = run([str(ruff), "check", "--no-cache", "--isolated", "--select=RUF006,SIM115,B019",
               "--output-format=json", *paths])
    for item in json.loads(out or "[]"):
        found[(_short(item["filename"], by_path), item["location"]["row"])].add(("ruff", item["code"]))
    return found


def _short(path: str, by_path: dict) -> str:
    real = os.path.realpath(path)
    for full, short in by_path.items():
        if os.path.realpath(full) == real:
            return short
    return path


def leaklint_findings(files: dict) -> dict:
    """{(file, line): {code, ...}} from leaklint with every rule selected."""
    config = WORK / "pyproject.toml"
    config.write_text("[tool.leaklint]\nselect = ['LL']\n")
    by_path = {str(path): short for short, path in files.items()}
    proc = subprocess.run([sys.executable, "-m", "leaklint", "check", "--no-cache", "--config", str(config),
                           "--format", "json", *by_path], capture_output=True, text=True, check=False, cwd=REPO)
    if proc.returncode not in (0, 1):
        sys.exit(f"leaklint failed: {proc.stderr}")
    found = defaultdict(set)
    for item in json.loads(proc.stdout):
        found[(_short(item["path"], by_path), item["line"])].add(item["code"])
    return found


def load_verdicts() -> dict:
    if not VERDICTS.exists():
        return {}
    return {(v["file"], v["line"]): v for v in json.loads(VERDICTS.read_text())}


def compare(peers: dict, ours: dict, verdicts: dict):
    rows = []  # (file, line, category, peer codes, leaklint codes, reason)
    answered = {(file, v["same_as"]) for (file, _line), v in verdicts.items() if "same_as" in v}
    for key in sorted(set(peers) | set(ours)):
        checks = {code for _tool, code in peers.get(key, ())}
        domain = set().union(*(DOMAIN[c] for c in checks)) if checks else set()
        mine = ours.get(key, set())
        verdict = verdicts.get(key, {})
        if checks:
            # a peer may report on another line of the same leak (pylint: on `manager.start()`)
            if "same_as" in verdict:
                mine = mine | ours.get((key[0], verdict["same_as"]), set())
            if mine & domain:
                category = "agreed"
            else:
                category = verdict.get("category", "missed")
        elif mine & LEAKLINT_DOMAIN:
            if key in answered:
                continue  # the same leak a peer reports on another line
            category = "leaklint only"
        else:
            continue  # leaklint findings outside the peers' domain (e.g. LL206 on a fixture's set)
        rows.append((key[0], key[1], category, sorted(f"{t}:{c}" for t, c in peers.get(key, ())),
                     sorted(mine), verdict.get("reason", "")))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--details", action="store_true", help="print every compared line")
    args = parser.parse_args()
    files = download_sources()
    python = tools_python()
    peers = peer_findings(python, files)
    ours = leaklint_findings(files)
    verdicts = load_verdicts()
    rows = compare(peers, ours, verdicts)

    counts = defaultdict(lambda: defaultdict(int))
    for file, _line, category, _p, mine, reason in rows:
        bucket = category
        if category == "leaklint only":
            verdict = verdicts.get((file, _line), {}).get("verdict", "untriaged")
            bucket = f"leaklint only ({verdict})"
        counts[file][bucket] += 1
    columns = ["agreed", "missed", "out of scope", "peer false positive", "leaklint only (true)",
               "leaklint only (false)", "leaklint only (untriaged)"]
    print("| peer test file | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    totals = defaultdict(int)
    for file in sorted(counts):
        print(f"| {file} | " + " | ".join(str(counts[file][c]) for c in columns) + " |")
        for c in columns:
            totals[c] += counts[file][c]
    print("| **all** | " + " | ".join(f"**{totals[c]}**" for c in columns) + " |")
    if args.details or totals["missed"] or totals["leaklint only (untriaged)"]:
        print()
        for file, line, category, peer_codes, mine, reason in rows:
            if args.details or category == "missed" or (category == "leaklint only" and not reason):
                print(f"{file}:{line}: {category}: peers {peer_codes} leaklint {mine} {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
