"""Red-flag benchmark: recall and false alarms per labelled set, false alarms over the question sets, latency.

    python bench/bench_red_flags.py [--faq faq.yaml] [--misses] [--shared ../shared/eval]

- every tests/data/red_flags*.yaml (`red_flags:` must alarm, `ordinary:` must not): recall, false alarms;
- every question set in tests/data (lists of `- q: ...`) and, when the folder exists, the question sets in
  the shared eval folder (read only, only measured): the share of ordinary questions that alarm;
- detection latency p50/p99 per message on the real faq.yaml, over all the messages above, after a warm-up.

Prints figures; asserts nothing (tests/test_safety.py holds the floors). Message texts are printed only with
--misses, for whoever is tuning the word groups on the training set.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.content.load import load_knowledge  # noqa: E402
from bot.core.safety import detector_for  # noqa: E402

DATA = ROOT / "tests" / "data"
# ../shared/eval beside the checkout (or beside the folder of worktrees); optional, only measured
SHARED_EVAL = next(
    (p for p in (ROOT.parent / "shared" / "eval", ROOT.parent.parent / "shared" / "eval") if p.is_dir()),
    ROOT.parent / "shared" / "eval",
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def questions(path: Path) -> list[tuple[str, bool]]:
    """A question set's messages, each with whether it is labelled `urgent: true` (a warning sign)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        return []
    return [(str(it["q"]), bool(it.get("urgent"))) for it in raw if isinstance(it, dict) and "q" in it]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faq", default=str(ROOT / "bot" / "faq.yaml"))
    ap.add_argument("--shared", default=str(SHARED_EVAL), help="folder of shared eval sets (optional)")
    ap.add_argument("--misses", action="store_true", help="print missed red flags and false alarms")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    detector = detector_for(load_knowledge(Path(args.faq)))
    if detector is None:
        print(f"{args.faq} has no red_flags section")
        return 1

    def sign(text: str) -> str | None:
        flag = detector.detect(text)
        return flag.id if flag else None

    everything: list[str] = []
    print("| red-flag set | red flags | recall | ordinary | false alarms |")
    print("|---|---|---|---|---|")
    for path in sorted(DATA.glob("red_flags*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        red, ordinary = [str(m) for m in raw["red_flags"]], [str(m) for m in raw["ordinary"]]
        missed = [m for m in red if sign(m) is None]
        alarms = [(m, sign(m)) for m in ordinary if sign(m) is not None]
        caught = len(red) - len(missed)
        print(
            f"| {path.name} | {len(red)} | {caught / len(red):.1%} ({caught}) | {len(ordinary)} "
            f"| {len(alarms) / len(ordinary):.1%} ({len(alarms)}) |"
        )
        if args.misses:
            for m in missed:
                print(f"    MISSED  {m}")
            for m, s in alarms:
                print(f"    ALARM   [{s}] {m}")
        everything += red + ordinary

    shared = Path(args.shared)
    sets = sorted(p for p in DATA.glob("*.yaml") if not p.name.startswith("red_flags"))
    sets += sorted(shared.glob("*.yaml")) if shared.is_dir() else []
    print("\n| question set | questions | labelled urgent: caught | others: false alarms |")
    print("|---|---|---|---|")
    total = total_alarms = total_urgent = total_caught = 0
    for path in sets:
        labelled = questions(path)
        if not labelled:
            continue
        urgent = [q for q, u in labelled if u]
        qs = [q for q, u in labelled if not u]
        caught = sum(1 for q in urgent if sign(q) is not None)
        alarms = [(q, sign(q)) for q in qs if sign(q) is not None]
        total, total_alarms = total + len(qs), total_alarms + len(alarms)
        total_urgent, total_caught = total_urgent + len(urgent), total_caught + caught
        where = path.name if path.parent == DATA else f"shared/{path.name}"
        print(
            f"| {where} | {len(labelled)} | {caught}/{len(urgent)} "
            f"| {len(alarms) / max(1, len(qs)):.1%} ({len(alarms)}) |"
        )
        if args.misses:
            for q in urgent:
                if sign(q) is None:
                    print(f"    MISSED  {q}")
            for q, s in alarms:
                print(f"    ALARM   [{s}] {q}")
        everything += [q for q, _ in labelled]
    print(
        f"| all question sets | {total + total_urgent} | {total_caught}/{total_urgent} "
        f"| {total_alarms / max(1, total):.1%} ({total_alarms}) |"
    )

    for m in everything:  # warm-up: typo cache, as in a running bot
        sign(m)
    times: list[float] = []
    for _ in range(args.rounds):
        for m in everything:
            t0 = time.perf_counter()
            sign(m)
            times.append((time.perf_counter() - t0) * 1000)
    print(
        f"\ndetection latency over {len(times)} calls ({len(everything)} messages): "
        f"p50 {statistics.median(times):.3f} ms, p99 {percentile(times, 99):.3f} ms, max {max(times):.3f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
