"""Matcher benchmark: accuracy on labelled sets; match latency on the real and a 10,000-entry knowledge base.

    python bench/bench_matcher.py [--eval FILE ...] [--entries 10000]

Prints figures; asserts nothing (the tests hold the accuracy floor). Latency is per `Matcher.match` call,
in-process, after one warm-up pass; load + index time is for the real faq.yaml.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.content.load import load_knowledge  # noqa: E402
from bot.content.model import Entry, KnowledgeBase  # noqa: E402
from bot.core.matching import Matcher  # noqa: E402

DEFAULT_EVALS = [
    ROOT / "tests/data/labelled.yaml",
    ROOT / "tests/data/holdout.yaml",
    ROOT / "tests/data/chat-realistic.yaml",
    ROOT / "tests/data/off-topic-partial.yaml",
]


def accuracy(matcher: Matcher, items: list[dict[str, object]]) -> tuple[float, float, float, int, int]:
    n_in = ok_in = n_off = ok_off = 0
    for it in items:
        m = matcher.match(str(it["q"]))
        got = m.entry.id if m.band == "confident" and m.entry else None
        ids = list(it.get("ids") or [])  # type: ignore[call-overload]
        if ids:
            n_in += 1
            ok_in += got in ids
        else:
            n_off += 1
            ok_off += got is None
    overall = (ok_in + ok_off) / max(1, n_in + n_off)
    return ok_in / max(1, n_in), ok_off / max(1, n_off), overall, n_in, n_off


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def latency_ms(matcher: Matcher, queries: list[str], rounds: int = 3) -> tuple[float, float, float]:
    for q in queries:  # warm-up: typo caches, lazy imports
        matcher.match(q)
    times = []
    for _ in range(rounds):
        for q in queries:
            t0 = time.perf_counter()
            matcher.match(q)
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), percentile(times, 99), max(times)


def generated_kb(real: KnowledgeBase, n: int, seed: int = 7) -> KnowledgeBase:
    """A large knowledge base shaped like the real one: real phrasings mixed with a synthetic vocabulary."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "su", "do", "fa", "gi", "ho", "ju"]
    vocab = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(30000)})
    real_questions = [q for e in real.entries for q in e.questions]
    entries = []
    for i in range(n):
        base = real.entries[i % len(real.entries)]
        questions = tuple(
            f"{rng.choice(real_questions)} {' '.join(rng.sample(vocab, 3))}" for _ in range(rng.randint(3, 8))
        )
        entries.append(
            Entry(
                id=f"gen-{i:05d}",
                kind=base.kind,
                title=f"{base.title} {rng.choice(vocab)}",
                questions=questions,
                answer=base.answer,
                related=(f"gen-{(i + 1) % n:05d}",),
            )
        )
    return KnowledgeBase(path="<generated>", meta=real.meta, entries=tuple(entries), matching=real.matching)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faq", default=str(ROOT / "bot" / "faq.yaml"))
    ap.add_argument("--eval", action="append", help="labelled YAML (- q: ..., ids: [...]); repeatable")
    ap.add_argument("--entries", type=int, default=10000, help="size of the generated knowledge base")
    args = ap.parse_args()

    t0 = time.perf_counter()
    kb = load_knowledge(args.faq)
    t1 = time.perf_counter()
    matcher = Matcher(kb)
    t2 = time.perf_counter()
    print(f"load {1000 * (t1 - t0):.1f} ms + index {1000 * (t2 - t1):.1f} ms: {len(kb.entries)} entries")

    evals = [Path(p) for p in args.eval] if args.eval else [p for p in DEFAULT_EVALS if p.exists()]
    queries: list[str] = []
    print("\n| eval set | in-scope | off-topic | in-scope top-1 | off-topic abstention | overall |")
    print("|---|---|---|---|---|---|")
    for path in evals:
        items = yaml.safe_load(path.read_text(encoding="utf-8"))
        queries += [str(it["q"]) for it in items]
        top1, abst, overall, n_in, n_off = accuracy(matcher, items)
        print(f"| {path.name} | {n_in} | {n_off} | {top1:.3f} | {abst:.3f} | {overall:.3f} |")
    rng = random.Random(1)
    queries.append(" ".join(rng.choice(queries) for _ in range(60))[:4096])  # one long rambling message

    print("\n| knowledge base | entries | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    p50, p99, worst = latency_ms(matcher, queries)
    print(f"| faq.yaml | {len(kb.entries)} | {p50:.3f} | {p99:.3f} | {worst:.3f} |")

    t0 = time.perf_counter()
    big = generated_kb(kb, args.entries)
    big_matcher = Matcher(big)
    build_s = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    p50, p99, worst = latency_ms(big_matcher, queries, rounds=1)
    print(f"| generated | {len(big.entries)} | {p50:.3f} | {p99:.3f} | {worst:.3f} |")
    mib = peak / 2**20
    print(f"\ngenerated knowledge base: built and indexed in {build_s:.1f} s, process peak RSS {mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
