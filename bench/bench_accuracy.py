"""Accuracy of the matcher on labelled sets, as `legpress-bot ask --json` answers them (in process).

    python bench/bench_accuracy.py [SET.yaml ...] [--failures N]

Without sets: every understanding set in tests/data and, when present, ../shared/eval/*.yaml. Prints in-scope
top-1, off-topic abstention, overall and in-scope top-3 for each set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from bot.cli import ask_json
from bot.content.load import load_knowledge
from bot.core.dialogue import Dialogue

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SETS = [
    *sorted((ROOT / "tests" / "data").glob("holdout*.yaml")),
    *(
        ROOT / "tests" / "data" / name
        for name in (
            "labelled.yaml",
            "chat-realistic.yaml",
            "off-topic-partial.yaml",
            "gym-floor.yaml",
            "forum-stories.yaml",
            "forum-threads.yaml",
            "ordinary.yaml",
            "real-lifting.yaml",
            "real-qa.yaml",
            "real-more-a.yaml",
            "real-more-b.yaml",
            "real-more-c.yaml",
            "real-more-d.yaml",
            "real-more-e.yaml",
            "ordinary2.yaml",
            "ordinary3.yaml",
            "ordinary4.yaml",
            "ordinary5.yaml",
            "ordinary6.yaml",
            "ordinary7.yaml",
            "ordinary8.yaml",
            "ordinary9.yaml",
            "ordinary10.yaml",
            "ordinary11.yaml",
            "ordinary12.yaml",
            "ordinary13.yaml",
            "ordinary14.yaml",
            "ordinary15.yaml",
            "ordinary16.yaml",
            "ordinary17.yaml",
            "ordinary18.yaml",
            "ordinary19.yaml",
            "ordinary20.yaml",
            "ordinary21.yaml",
            "ordinary22.yaml",
            "ordinary23.yaml",
            "ordinary24.yaml",
            "ordinary25.yaml",
            "ordinary26.yaml",
            "ordinary27.yaml",
            "ordinary28.yaml",
            "ordinary-holdout.yaml",
            "real-lifting-holdout.yaml",
            "real-qa-holdout.yaml",
        )
    ),
    *sorted(
        next((p / "shared" / "eval" for p in ROOT.parents if (p / "shared" / "eval").is_dir()), ROOT).glob(
            "*.yaml"
        )
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="*", type=Path)
    parser.add_argument("--failures", type=int, default=0)
    args = parser.parse_args()
    dialogue = Dialogue.from_kb(load_knowledge(ROOT / "bot" / "faq.yaml"))
    seen: set[Path] = set()
    for path in args.sets or DEFAULT_SETS:
        if not path.exists() or path.resolve() in seen:
            continue
        seen.add(path.resolve())
        items = yaml.safe_load(path.read_text(encoding="utf-8"))
        n_in = n_ok = n_off = n_abs = n_top3 = 0
        failures = []
        for it in items:
            q = " ".join(str(it["q"]).split())
            ids = list(it.get("ids") or [])
            m = dialogue.matcher.match(q)  # for the top 3, beside the answer
            got = ask_json(dialogue, q)["id"]
            if ids:
                n_in += 1
                n_ok += got in ids
                n_top3 += any(c.entry.id in ids for c in m.candidates[:3])
                ok = got in ids
            else:
                n_off += 1
                n_abs += got is None
                ok = got is None
            if not ok:
                failures.append((q, ids, got, m))
        overall = (n_ok + n_abs) / max(1, n_in + n_off)
        print(
            f"{path.name:28} n={n_in + n_off:4} in-scope {n_ok / max(1, n_in):.3f} "
            f"abstention {n_abs / max(1, n_off):.3f} overall {overall:.3f} top-3 {n_top3 / max(1, n_in):.3f}"
        )
        for q, ids, got, m in failures[: args.failures]:
            cands = ", ".join(f"{c.entry.id}:{c.score:.0f}" for c in m.candidates[:3])
            print(f"    want {ids[:2]} got {got} [{m.band} {m.reason}] ({cands})\n      {q[:220]}")


if __name__ == "__main__":
    main()
