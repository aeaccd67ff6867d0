"""The ecosystem check: leaklint over real packages nobody here tuned it on, against
findings a person has read and judged (in the manner of ruff's scripts/check_ecosystem.py).

    python benchmarks/ecosystem.py                       # lint, compare, print precision
    python benchmarks/ecosystem.py --update              # also record new findings as untriaged
    python benchmarks/ecosystem.py --extend-select LL104 # off-by-default rules, reported apart
    python benchmarks/ecosystem.py --only sanic,arq      # a few packages (nothing else is "gone")

Installs a pinned list of concurrency-heavy packages, each with `pip install --no-deps
--no-compile --target` into its own folder under $LEAKLINT_ECO_DIR (default:
/tmp/leaklint-eco), lints them with `leaklint check --format json --no-cache` and matches
every finding against benchmarks/ecosystem/verdicts.json: one entry per finding with the
package, the path inside it, the line, the stripped text of that line (so a verdict
survives lines moving), the verdict (true / false / debatable / untriaged) and a reason.
Prints the packages with their sizes, the findings that are new (no verdict) and gone (a
verdict, no finding), and the precision per rule: true / (true + false + debatable).
Not a test: it needs the package index and a minute or two.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from bench import LARGE, count  # noqa: E402  (beside this script)

VERDICTS = HERE / "ecosystem" / "verdicts.json"
WORK = Path(os.environ.get("LEAKLINT_ECO_DIR") or Path(tempfile.gettempdir()) / "leaklint-eco")

# (distribution, exact version, subtrees kept or None for all). None of these is in
# bench.py's corpora or tests/test_corpus.py (checked at start). Home Assistant is ~1M
# lines of integrations: only its core, helpers and a fixed set of integrations are kept,
# so one package does not decide the figures.
HOMEASSISTANT_KEEP = ["homeassistant/" + p for p in (
    "*.py", "auth", "util", "helpers",
    *("components/" + c for c in (
        "homeassistant", "automation", "script", "scene", "hassio", "esphome", "zwave_js", "unifi",
        "mqtt", "bluetooth", "http", "websocket_api", "camera", "light", "google_assistant", "cloud",
        "conversation", "stream", "media_player", "sensor")),
)]
PACKAGES = [
    ("aiobotocore", "3.10.0", None),
    ("aiogram", "3.31.0", None),
    ("aiomqtt", "2.5.1", None),
    ("arq", "0.28.0", None),
    ("discord.py", "2.7.1", None),
    ("distributed", "2026.8.0", None),
    ("dramatiq", "2.2.1", None),
    ("homeassistant", "2024.3.3", HOMEASSISTANT_KEEP),
    ("hypercorn", "0.18.0", None),
    ("ipykernel", "7.4.0", None),
    ("jupyter_client", "8.10.0", None),
    ("jupyter_server", "2.21.1", None),
    ("litestar", "2.25.0", None),
    ("locust", "2.47.0", None),
    ("motor", "3.7.1", None),
    ("nats-py", "2.16.0", None),
    ("prefect", "3.9.1", None),
    ("python-telegram-bot", "22.8", None),
    ("quart", "0.22.0", None),
    ("sanic", "25.12.1", None),
    ("scrapy", "2.19.0", None),
    ("slack_bolt", "1.30.0", None),
    ("streamlink", "8.6.3", None),
    ("telethon", "1.45.0", None),
    ("textual", "8.2.8", None),
    ("tortoise-orm", "1.1.9", None),
]
ALREADY_USED = {"aiohttp", "anyio", "httpx", "httpcore", "redis", "trio", "tornado", "websockets", "kombu",
                "aiokafka", "aio-pika", "aiormq", "starlette", "uvicorn", "celery", "faststream",
                "confluent-kafka", "twisted", "django"}
VERDICT_VALUES = ("true", "false", "debatable", "untriaged")


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _check_disjoint() -> None:
    used = {_norm(n) for n in ALREADY_USED} | {_norm(spec.split("==")[0]) for spec in LARGE}
    overlap = [name for name, _v, _k in PACKAGES if _norm(name) in used]
    if overlap:
        raise SystemExit(f"ecosystem packages already used by the tests or benchmarks: {overlap}")


def _kept(rel: str, keep: list) -> bool:
    from fnmatch import fnmatch

    for pattern in keep:
        if "*" in pattern:
            if fnmatch(rel, pattern) and "/" not in rel[len(pattern.rsplit("/", 1)[0]) + 1:]:
                return True
        elif rel == pattern or rel.startswith(pattern + "/"):
            return True
    return False


def install(name: str, version: str, keep) -> Path:
    """The package's own folder (what pip put there, minus metadata and scripts)."""
    target = WORK / "corpus" / name
    marker = target / ".complete"
    spec = f"{name}=={version}" + (f" keep={keep}" if keep else "")
    if not marker.exists() or marker.read_text() != spec:
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                        "--target", str(target), f"{name}=={version}"], check=True)
        for junk in target.glob("*.dist-info"):
            shutil.rmtree(junk)
        shutil.rmtree(target / "bin", ignore_errors=True)
        if keep:
            for folder, _dirs, names in os.walk(target):
                for file in names:
                    path = Path(folder) / file
                    rel = path.relative_to(target).as_posix()
                    if file.endswith(".py") and not _kept(rel, keep):
                        path.unlink()
        marker.write_text(spec)
    return target


def lint(packages: list, select, extend_select, jobs) -> list:
    """Every finding as a dict, `package` added and `path` made relative to the package."""
    corpus = WORK / "corpus"
    config = WORK / "pyproject.toml"  # an empty table: the defaults, whatever the cwd holds
    config.write_text("[tool.leaklint]\n")
    command = [sys.executable, "-m", "leaklint", "check", "--format", "json", "--no-cache", "--exit-zero",
               "--config", str(config)]
    if select:
        command += ["--select", select]
    if extend_select:
        command += ["--extend-select", extend_select]
    if jobs:
        command += ["--jobs", str(jobs)]
    env = dict(os.environ, PYTHONHASHSEED="0", NO_COLOR="1")
    proc = subprocess.run(command + [name for name, _v, _k in packages], cwd=corpus, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0 or "Traceback" in proc.stderr:
        raise SystemExit(f"leaklint exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    findings = []
    lines_of = {}
    for item in json.loads(proc.stdout):
        package, _, rel = item["path"].replace(os.sep, "/").partition("/")
        source = lines_of.get(item["path"])
        if source is None:
            source = lines_of[item["path"]] = (corpus / item["path"]).read_text("utf-8", "replace").splitlines()
        text = source[item["line"] - 1].strip() if 0 < item["line"] <= len(source) else ""
        findings.append({"code": item["code"], "package": package, "path": rel, "line": item["line"],
                         "text": text, "message": item["message"]})
    return findings


def match(findings: list, verdicts: list) -> tuple:
    """Pairs (finding, verdict) and the unmatched of each side. A verdict matches a finding
    of the same code, package, path and line text. Among several on equal text: when both
    sides have as many, in line order (an edit above them shifts them all alike); else
    exact lines first, then the nearest line."""
    pool = defaultdict(list)
    for verdict in verdicts:
        pool[(verdict["code"], verdict["package"], verdict["path"], verdict["text"])].append(verdict)
    wanted = defaultdict(list)
    for finding in findings:
        wanted[(finding["code"], finding["package"], finding["path"], finding["text"])].append(finding)
    pairs, new = [], []
    for key, group in wanted.items():
        candidates = sorted(pool.pop(key, []), key=lambda v: v["line"])
        group.sort(key=lambda f: f["line"])
        if len(candidates) == len(group):
            pairs.extend(zip(group, candidates))
            continue
        exact = {v["line"]: v for v in candidates}
        rest = []
        for finding in group:
            verdict = exact.pop(finding["line"], None)
            if verdict is None:
                rest.append(finding)
            else:
                candidates.remove(verdict)
                pairs.append((finding, verdict))
        for finding in rest:
            if not candidates:
                new.append(finding)
                continue
            best = min(candidates, key=lambda v: abs(v["line"] - finding["line"]))
            candidates.remove(best)
            pairs.append((finding, best))
        pool[key] = candidates
    gone = [v for group in pool.values() for v in group]
    return pairs, new, gone


def _key(entry: dict) -> tuple:
    return (entry["package"].lower(), entry["path"], entry["line"], entry["code"])


def precision_table(rows: list, title: str) -> None:
    """rows: (code, verdict). Prints true/false/debatable/untriaged and precision per rule."""
    counts = defaultdict(Counter)
    for code, verdict in rows:
        counts[code][verdict] += 1
        counts["all"][verdict] += 1
    print(f"\n{title}\n")
    print("| rule | findings | true | false | debatable | untriaged | precision t/(t+f+d) | t/(t+f) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for code in sorted(c for c in counts if c != "all") + (["all"] if counts else []):
        c = counts[code]
        judged = c["true"] + c["false"] + c["debatable"]
        strict = f"{c['true'] / judged:.0%}" if judged else "-"
        lenient = f"{c['true'] / (c['true'] + c['false']):.0%}" if c["true"] + c["false"] else "-"
        name = "**all**" if code == "all" else code
        print(f"| {name} | {sum(c.values())} | {c['true']} | {c['false']} | {c['debatable']} | "
              f"{c['untriaged']} | {strict} | {lenient} |")


def _show(entry: dict) -> str:
    return f"{entry['code']} {entry['package']}/{entry['path']}:{entry['line']}: {entry['text'][:100]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true",
                        help="write the verdicts file: new findings added as untriaged, gone ones removed, "
                             "moved lines updated")
    parser.add_argument("--select", help="codes or prefixes to run instead of the defaults (as leaklint's)")
    parser.add_argument("--extend-select", help="codes or prefixes to run as well (as leaklint's)")
    parser.add_argument("--only", help="comma-separated distributions to lint (default: all)")
    parser.add_argument("--jobs", "-j", type=int, help="leaklint's --jobs")
    parser.add_argument("--verdicts", type=Path, default=VERDICTS)
    parser.add_argument("--show", choices=["new", "all", "false", "debatable", "untriaged"], default="new",
                        help="which findings to list in full (default: the new ones)")
    args = parser.parse_args()
    _check_disjoint()

    sys.path.insert(0, str(REPO))
    from leaklint import __version__
    from leaklint.config import Settings
    from leaklint.rules import all_rules

    packages = PACKAGES
    if args.only:
        wanted = {_norm(n) for n in args.only.split(",")}
        packages = [p for p in PACKAGES if _norm(p[0]) in wanted]
        if len(packages) != len(wanted):
            raise SystemExit(f"unknown packages in --only: {sorted(wanted - {_norm(p[0]) for p in packages})}")

    print(f"Packages (pip install --no-deps into {WORK / 'corpus'}):\n")
    print("| package | version | files | lines |")
    print("|---|---|---:|---:|")
    total_files = total_lines = 0
    for name, version, keep in packages:
        folder = install(name, version, keep)
        files, lines = count(folder)
        total_files += files
        total_lines += lines
        note = " (subset: core, helpers and 20 integrations)" if keep else ""
        print(f"| {name} | {version}{note} | {files} | {lines:,} |")
    print(f"| **{len(packages)} packages** | | {total_files} | {total_lines:,} |")

    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "?"
    settings = Settings(select=tuple(args.select.split(",")) if args.select else None,
                        extend_select=tuple(args.extend_select.split(",")) if args.extend_select else ())
    selected = settings.enabled_codes()
    default = {r.code for r in all_rules() if r.default}
    print(f"\nleaklint {__version__} ({commit}), Python {sys.version.split()[0]}; rules: "
          f"{'defaults' if not (args.select or args.extend_select) else ','.join(sorted(selected))}")

    findings = lint(packages, args.select, args.extend_select, args.jobs)
    data = json.loads(args.verdicts.read_text()) if args.verdicts.exists() else {"findings": []}
    everything = data["findings"]
    names = {p[0] for p in packages}
    # only the verdicts this run could reproduce take part; the others are kept as they are
    in_scope = [v for v in everything if v["code"] in selected and v["package"] in names]
    out_of_scope = [v for v in everything if not (v["code"] in selected and v["package"] in names)]
    pairs, new, gone = match(findings, in_scope)

    by_code = Counter(f["code"] for f in findings)
    print(f"{len(findings)} findings: " + ", ".join(f"{c} {n}" for c, n in sorted(by_code.items())))
    rows_default = [(f["code"], v["verdict"]) for f, v in pairs if f["code"] in default]
    rows_default += [(f["code"], "untriaged") for f in new if f["code"] in default]
    rows_extra = [(f["code"], v["verdict"]) for f, v in pairs if f["code"] not in default]
    rows_extra += [(f["code"], "untriaged") for f in new if f["code"] not in default]
    if rows_default:
        precision_table(rows_default, "Default rules:")
    if rows_extra:
        precision_table(rows_extra, "Off-by-default rules (not in the default figures):")

    print(f"\nNew (no verdict): {len(new)}")
    for finding in sorted(new, key=_key):
        print(f"  {_show(finding)}\n      {finding['message'][:160]}")
        where = (finding["code"], finding["package"], finding["path"])
        for verdict in gone:  # the same finding after its line was edited, perhaps
            if (verdict["code"], verdict["package"], verdict["path"]) == where:
                print(f"      perhaps the gone one at line {verdict['line']} ({verdict['verdict']}): "
                      f"{verdict['text'][:80]}")
    print(f"Gone (a verdict, no finding): {len(gone)}")
    for verdict in sorted(gone, key=_key):
        print(f"  {_show(verdict)}  [{verdict['verdict']}: {verdict['reason'][:80]}]")
    if args.show != "new":
        print(f"\nFindings with their verdicts ({args.show}):")
        for finding, verdict in sorted(pairs, key=lambda p: _key(p[0])):
            if args.show == "all" or verdict["verdict"] == args.show:
                print(f"  [{verdict['verdict']}] {_show(finding)}\n      {verdict['reason']}")

    if args.update:
        kept = []
        for finding, verdict in pairs:
            kept.append(dict(verdict, line=finding["line"], message=finding["message"]))  # follows the code
        for finding in new:
            kept.append({"code": finding["code"], "package": finding["package"], "path": finding["path"],
                         "line": finding["line"], "text": finding["text"], "verdict": "untriaged",
                         "reason": "", "message": finding["message"]})
        result = sorted(kept + out_of_scope, key=_key)
        for entry in result:
            if entry["verdict"] not in VERDICT_VALUES:
                raise SystemExit(f"bad verdict {entry['verdict']!r} in {_show(entry)}")
        data = {
            "about": "leaklint findings on the packages of benchmarks/ecosystem.py, each read in its "
                     "context and judged: verdict is true, false, debatable or untriaged; matched to "
                     "findings by code, package, path and the stripped text of the line.",
            "packages": [f"{n}=={v}" for n, v, _k in PACKAGES],
            "findings": result,
        }
        args.verdicts.parent.mkdir(parents=True, exist_ok=True)
        args.verdicts.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        print(f"\nwrote {args.verdicts}: {len(new)} added as untriaged, {len(gone)} removed, "
              f"{len(result)} entries")


if __name__ == "__main__":
    main()
