"""Accuracy of the matcher on labelled sets, as `legpress-bot ask --json` answers them (in process).

    python bench/bench_accuracy.py [SET.yaml ...] [--failures N]

Without sets: every understanding set in tests/data and, when present, ../shared/eval/*.yaml. Prints in-scope
top-1, off-topic abstention, overall and in-scope top-3 for each set.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import yaml

from bot.cli import ask_json
from bot.content.load import load_knowledge
from bot.core.dialogue import Dialogue

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def _in_number_order(path: Path) -> list[int | str]:
    """ordinary9 before ordinary10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


DEFAULT_SETS = [
    # every question set in tests/data (the red_flags sets are of another shape: bench_red_flags.py)
    *sorted((p for p in DATA.glob("*.yaml") if not p.name.startswith("red_flags")), key=_in_number_order),
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
