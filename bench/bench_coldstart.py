"""Cold start of `legpress-bot ask "QUESTION"` as a process, beside a minimal stand-in run alongside it.

Not a test: run `python bench/bench_coldstart.py [--rounds 10] [--question "..."] [--imports]`. Each round
runs, one after another in an order that alternates from round to round:

- `legpress-bot ask QUESTION`: the venv's console script, as people run it;
- `python -m bot ask QUESTION`;
- `legpress-bot ask QUESTION` with its compiled-content cache unusable (XDG_CACHE_HOME is a file), so that
  faq.yaml is parsed, validated and indexed as on the first run after an edit;
- the stand-in: a Python process that reads faq.yaml with PyYAML's C loader, collects the entries'
  questions, runs rapidfuzz's `process.extractOne` over them for the same question and prints the result.

Every process is timed from its start to its exit (the wall time a person waits). Printed: each round, the
medians, and the ratio of each of ours to the stand-in (the goal is at most 1.5). Nothing from `bot` is
imported here. `--imports` adds the modules that dominate the `ask` path's start-up, from
`python -X importtime -m bot ask` (the median of a few runs): the top-level packages by the import time of
all their modules, the slowest single modules, and which heavy packages (PTB, httpx, sqlite3, the report's
matplotlib...) the ask path loads at all, and through which modules. `--profile` adds a cProfile of one
`python -m bot ask`: where the rest of the time goes (reading the compiled-content cache; without one,
reading faq.yaml and building the matcher). Both see the cache the first run wrote, as a person's second
`ask` does.
"""

from __future__ import annotations

import argparse
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAQ = ROOT / "bot" / "faq.yaml"
QUESTION = "why does my back hurt after leg press?"
GOAL = 1.5

STAND_IN = """
import sys

import yaml
from rapidfuzz import process

with open(sys.argv[1], encoding="utf-8") as f:
    faq = yaml.load(f, Loader=yaml.CSafeLoader)
questions = [q for entry in faq["entries"] for q in entry["questions"]]
print(process.extractOne(sys.argv[2], questions))
"""


NO_CACHE = "ask, no cache"


def commands(question: str) -> dict[str, list[str]]:
    script = Path(sys.executable).parent / "legpress-bot"
    return {
        "legpress-bot ask": [str(script), "ask", question],
        "python -m bot ask": [sys.executable, "-m", "bot", "ask", question],
        NO_CACHE: [str(script), "ask", question],
        "stand-in": [sys.executable, "-c", STAND_IN, str(FAQ), question],
    }


def environment(cwd: str) -> dict[str, str]:
    """The bot's compiled-content cache in the benchmark's own folder: the first run writes it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "PYTHON"))}
    env["FAQ_PATH"] = str(FAQ)
    env["XDG_CACHE_HOME"] = str(Path(cwd) / "cache")
    return env


def without_cache(cwd: str, env: dict[str, str]) -> dict[str, str]:
    """A cache folder that cannot be made (a file is in its place): nothing is read or written."""
    blocked = Path(cwd) / "no-cache"
    blocked.write_text("not a folder\n")
    return {**env, "XDG_CACHE_HOME": str(blocked)}


def timed(argv: list[str], cwd: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"{argv[:3]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def importers(log: str, module: str) -> list[str]:
    """`module`, the module that first imported it, and so on up to the top, from an -X importtime log.

    The log lists a module after everything it imports, one level of indentation deeper per level of nesting:
    the importer of a line is the next line one level up."""
    lines = [line.split("|", 2)[2] for line in log.splitlines() if "|" in line and "[us]" not in line]
    entries = [(len(name) - len(name.lstrip()), name.strip()) for name in lines]
    start = next((i for i, (_, name) in enumerate(entries) if name == module), None)
    if start is None:
        return [module]
    chain, depth = [module], entries[start][0]
    for indent, name in entries[start + 1 :]:
        if indent < depth:
            chain.append(name)
            depth = indent
    return chain


def import_costs(question: str, cwd: str, env: dict[str, str], runs: int = 5, top: int = 15) -> None:
    """`-X importtime` of the ask path: per top-level package (cumulative) and per module (self), in ms."""
    packages: dict[str, list[float]] = defaultdict(list)
    last = ""
    modules: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "bot", "ask", question],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        last = done.stderr
        package_ms: dict[str, float] = defaultdict(float)
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "[us]" in line:
                continue
            own_us, _, name = line.removeprefix("import time:").split("|", 2)
            module = name.strip()
            modules[module].append(int(own_us) / 1000)
            package_ms[module.split(".")[0]] += int(own_us) / 1000  # everything the package's modules cost
        for package, ms in package_ms.items():
            packages[package].append(ms)
    total = {p: statistics.median(v) for p, v in packages.items()}
    print(f"\n`python -X importtime -m bot ask`: median of {runs} runs, ms")
    print(f"all imports: {sum(total.values()):.1f}")
    print(f"{'top-level package (its modules together)':<44}{'self':>8}")
    for package, ms in sorted(total.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{package:<44}{ms:>8.1f}")
    own = {m: statistics.median(v) for m, v in modules.items()}
    print(f"\n{'module':<44}{'self':>8}")
    for module, ms in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{module:<44}{ms:>8.1f}")
    heavy = ("telegram", "httpx", "matplotlib", "numpy", "sqlite3", "aiohttp", "tornado", "apscheduler")
    found = [h for h in heavy if h in total] + [
        m for m in own if m.startswith(("bot.report", "bot.telegram"))
    ]
    print(f"\nheavy imports on the ask path: {', '.join(found) or 'none'}")
    for module in found:
        print(f"  {' <- '.join(importers(last, module))}")


def profile(question: str, cwd: str, env: dict[str, str], top: int = 25) -> None:
    """cProfile of one `python -m bot ask`: the calls with the most cumulative time (imports included)."""
    out = Path(cwd) / "ask.prof"
    argv = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "bot", "ask", question]
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=True)
    print(f"\n`python -m cProfile -m bot ask`: top {top} by cumulative time (profiling slows every call)")
    pstats.Stats(str(out), stream=sys.stdout).strip_dirs().sort_stats("cumulative").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--question", default=QUESTION)
    ap.add_argument("--imports", action="store_true", help="also print the ask path's top import costs")
    ap.add_argument("--profile", action="store_true", help="also print where the ask path's time goes")
    args = ap.parse_args()
    runs = commands(args.question)
    with tempfile.TemporaryDirectory(prefix="bench-coldstart-") as cwd:  # no .env of the repository's
        env = environment(cwd)
        envs = {name: without_cache(cwd, env) if name == NO_CACHE else env for name in runs}
        for name, argv in runs.items():
            timed(argv, cwd, envs[name])  # warm the file cache and the bytecode, write the content cache
        times: dict[str, list[float]] = {name: [] for name in runs}
        print(f"{args.rounds} rounds of {len(runs)} processes, order alternating; ms from start to exit")
        print(f"{'round':<8}" + "".join(f"{name:>20}" for name in runs))
        for i in range(args.rounds):
            order = list(runs) if i % 2 == 0 else list(reversed(runs))
            for name in order:
                times[name].append(timed(runs[name], cwd, envs[name]) * 1000)
            print(f"{i + 1:<8}" + "".join(f"{times[name][-1]:>20.1f}" for name in runs), flush=True)
        median = {name: statistics.median(t) for name, t in times.items()}
        print(f"{'median':<8}" + "".join(f"{median[name]:>20.1f}" for name in runs))
        base = median["stand-in"]
        for name in runs:
            if name != "stand-in":
                ratio = median[name] / base
                verdict = "ok" if ratio <= GOAL else "MISSED"
                print(f"{name} / stand-in: {ratio:.2f}x  (goal <= {GOAL:g}x)  {verdict}")
        if args.imports:
            import_costs(args.question, cwd, env)
        if args.profile:
            profile(args.question, cwd, env)


if __name__ == "__main__":
    main()
