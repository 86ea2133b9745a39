"""Accuracy floors on the labelled sets of real posts and ordinary chat messages, scored as `legpress-bot ask
--json` answers them: a warning sign the topic gate lets through is answered by the urgent reply's entry.

Each floor sits a little under what the matcher reaches, so that a change that loses understanding fails
here; the first looks (before any tuning) are in each file's header.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.cli import ask_json
from bot.content.load import load_knowledge
from bot.core.dialogue import Dialogue

DATA = Path(__file__).resolve().parents[1] / "data"
FAQ = Path(__file__).resolve().parents[2] / "bot" / "faq.yaml"

# set -> (in scope, abstention, overall) at least
FLOORS = {
    "ordinary.yaml": (0.97, 0.95, 0.97),
    "ordinary-holdout.yaml": (0.94, 0.90, 0.95),
    "ordinary2.yaml": (0.95, 0.93, 0.95),
    "ordinary3.yaml": (0.95, 0.88, 0.93),
    "ordinary4.yaml": (0.93, 0.95, 0.94),
    "ordinary5.yaml": (0.93, 0.97, 0.95),
    "ordinary6.yaml": (0.92, 0.88, 0.91),
    "ordinary7.yaml": (0.91, 0.93, 0.92),
    "ordinary8.yaml": (0.94, 0.97, 0.95),
    "ordinary9.yaml": (0.96, 0.97, 0.97),
    "ordinary10.yaml": (0.90, 0.97, 0.93),
    "ordinary11.yaml": (0.90, 0.93, 0.92),
    "ordinary12.yaml": (0.93, 0.95, 0.94),
    "ordinary13.yaml": (0.95, 0.93, 0.95),
    "ordinary14.yaml": (0.91, 0.95, 0.93),
    "ordinary15.yaml": (0.90, 0.97, 0.93),
    "ordinary16.yaml": (0.92, 0.95, 0.94),
    "ordinary17.yaml": (0.95, 0.97, 0.96),
    "ordinary18.yaml": (0.94, 0.97, 0.96),
    "ordinary19.yaml": (0.94, 0.97, 0.96),
    "ordinary20.yaml": (0.95, 0.93, 0.95),
    "ordinary21.yaml": (0.97, 0.97, 0.97),
    "ordinary22.yaml": (0.92, 0.93, 0.93),
    "ordinary23.yaml": (0.97, 0.97, 0.97),
    "ordinary24.yaml": (0.96, 0.97, 0.97),
    "ordinary25.yaml": (0.95, 0.97, 0.96),
    "ordinary26.yaml": (0.91, 0.95, 0.93),
    "ordinary27.yaml": (0.95, 0.97, 0.96),
    "ordinary28.yaml": (0.97, 0.97, 0.97),
    "ordinary29.yaml": (0.94, 0.95, 0.95),
    "ordinary30.yaml": (0.94, 0.97, 0.96),
    "ordinary31.yaml": (0.93, 0.95, 0.94),
    "ordinary32.yaml": (0.93, 0.93, 0.93),
    "ordinary33.yaml": (0.90, 0.93, 0.92),
    "ordinary34.yaml": (0.95, 0.90, 0.94),
    "ordinary35.yaml": (0.87, 0.97, 0.92),
    "ordinary36.yaml": (0.90, 0.95, 0.93),
    "ordinary37.yaml": (0.94, 0.95, 0.95),
    "ordinary38.yaml": (0.87, 0.93, 0.90),
    "ordinary39.yaml": (0.95, 0.97, 0.96),
    "ordinary40.yaml": (0.90, 0.88, 0.90),
    "ordinary41.yaml": (0.88, 0.95, 0.91),
    "ordinary42.yaml": (0.96, 0.97, 0.97),
    "ordinary43.yaml": (0.94, 0.95, 0.95),
    "ordinary44.yaml": (0.92, 0.93, 0.93),
    "ordinary45.yaml": (0.90, 0.90, 0.90),
    "ordinary46.yaml": (0.92, 0.95, 0.94),
    "ordinary47.yaml": (0.93, 0.95, 0.94),
    "ordinary48.yaml": (0.75, 0.95, 0.82),
    "ordinary49.yaml": (0.90, 0.95, 0.92),
    "ordinary50.yaml": (0.93, 0.88, 0.92),
    "ordinary51.yaml": (0.95, 0.97, 0.96),
    "ordinary52.yaml": (0.94, 0.97, 0.96),
    "ordinary53.yaml": (0.94, 0.90, 0.93),
    "ordinary54.yaml": (0.88, 0.95, 0.91),
    "ordinary55.yaml": (0.95, 0.95, 0.95),
    "ordinary56.yaml": (0.96, 0.95, 0.96),
    "ordinary57.yaml": (0.88, 0.90, 0.89),
    "ordinary58.yaml": (0.92, 0.93, 0.93),
    "ordinary59.yaml": (0.95, 0.95, 0.96),
    "ordinary60.yaml": (0.96, 0.95, 0.96),
    "ordinary61.yaml": (0.97, 0.97, 0.97),
    "ordinary62.yaml": (0.97, 0.97, 0.97),
    "ordinary63.yaml": (0.97, 0.97, 0.97),
    "ordinary64.yaml": (0.95, 0.97, 0.96),
    "ordinary65.yaml": (0.92, 0.92, 0.92),
    "ordinary66.yaml": (0.95, 0.92, 0.94),
    "ordinary67.yaml": (0.95, 0.97, 0.96),
    "ordinary68.yaml": (0.80, 0.88, 0.85),
    "ordinary69.yaml": (0.90, 0.97, 0.93),
    "ordinary70.yaml": (0.92, 0.97, 0.94),
    "ordinary71.yaml": (0.92, 0.82, 0.87),
    "real-lifting.yaml": (0.90, 0.85, 0.85),
    "real-lifting-holdout.yaml": (0.50, 0.60, 0.55),
    "real-qa.yaml": (0.80, 0.85, 0.82),
    "real-qa-holdout.yaml": (0.85, 0.70, 0.80),
    "real-more-a.yaml": (0.80, 0.75, 0.76),
    "real-more-b.yaml": (0.65, 0.80, 0.76),
    "real-more-c.yaml": (0.20, 0.75, 0.70),
    "real-more-d.yaml": (0.75, 0.70, 0.72),
    "real-more-e.yaml": (0.50, 0.60, 0.62),
    "real-more-f.yaml": (0.35, 0.72, 0.65),
}


@pytest.fixture(scope="module")
def dialogue() -> Dialogue:
    return Dialogue.from_kb(load_knowledge(FAQ))


def answered(dialogue: Dialogue, text: str) -> str | None:
    answer = ask_json(dialogue, text)["id"]
    return str(answer) if answer is not None else None


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_accuracy_floor(dialogue: Dialogue, name: str) -> None:
    items = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    in_scope = [it for it in items if it["ids"]]
    off_topic = [it for it in items if not it["ids"]]
    right = sum(answered(dialogue, " ".join(it["q"].split())) in it["ids"] for it in in_scope)
    abstained = sum(answered(dialogue, " ".join(it["q"].split())) is None for it in off_topic)
    want_in, want_off, want_all = FLOORS[name]
    got = (right / len(in_scope), abstained / len(off_topic), (right + abstained) / len(items))
    assert got[0] >= want_in and got[1] >= want_off and got[2] >= want_all, (name, got)
