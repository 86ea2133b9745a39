"""The topic gate's rules in faq.yaml's `matching` section, validated: the off-topic rules, and the rule
for long stories that never name the machine.

The concepts the rules name are checked by `concept_set` (the matching section's concept map); every problem
goes to `add` with the path to it in the file, so that it is reported with its line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.content.model import GateRule, LongStory

RULE_KEYS = {"concepts", "with", "unless", "unless_together", "name", "only_asked", "about_the_person"}
LONG_STORY_KEYS = {"words", "unless", "entries"}

Path = tuple[Any, ...]
Add = Callable[[Path, str, str], None]  # path in the file, field, message
ConceptSet = Callable[[Any, Path, str], frozenset[str]]  # value, path, field -> the concepts it names


def parse_off_topic(raw: Any, concept_set: ConceptSet, add: Add) -> tuple[GateRule, ...]:
    """`matching.gate.off_topic`: a list of rules, each ruling a message off topic."""
    where = ("matching", "gate", "off_topic")
    if not isinstance(raw, list):
        add(where, "matching.gate.off_topic", "must be a list of rules")
        return ()
    rules = []
    for k, r in enumerate(raw):
        p = (*where, k)
        fld = f"matching.gate.off_topic[{k}]"
        if not isinstance(r, dict) or "concepts" not in r:
            add(p, fld, "a rule needs 'concepts' (and optionally 'unless', 'name')")
            continue
        for key in sorted(set(r) - RULE_KEYS):
            add((*p, key), f"{fld}.{key}", "unknown key")
        flags: dict[str, bool] = {}
        for key in ("only_asked", "about_the_person"):
            flags[key] = r.get(key, False)
            if not isinstance(flags[key], bool):
                add((*p, key), f"{fld}.{key}", "must be true or false")
                flags[key] = False
        together = r.get("unless_together") or []
        if not isinstance(together, list) or not all(isinstance(g, list) and g for g in together):
            add((*p, "unless_together"), f"{fld}.unless_together", "must be a list of lists of concepts")
            together = []
        groups = tuple(
            concept_set(g, (*p, "unless_together", j), f"{fld}.unless_together[{j}]")
            for j, g in enumerate(together)
        )
        rules.append(
            GateRule(
                name=str(r.get("name", f"rule {k + 1}")),
                concepts=concept_set(r.get("concepts"), (*p, "concepts"), f"{fld}.concepts"),
                unless=concept_set(r.get("unless"), (*p, "unless"), f"{fld}.unless"),
                with_all=concept_set(r.get("with"), (*p, "with"), f"{fld}.with"),
                only_asked=flags["only_asked"],
                unless_together=groups,
                about_the_person=flags["about_the_person"],
            )
        )
    return tuple(rules)


def parse_long_story(raw: Any, concept_set: ConceptSet, add: Add) -> LongStory | None:
    """`matching.long_story`: how many words make a long story, what ties one to the article, and which
    entries it is not answered with. The entry ids are checked with the entries (`unknown_entries`)."""
    where = ("matching", "long_story")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        add(where, "matching.long_story", "must be a mapping with words, unless and entries")
        return None
    for key in sorted(set(raw) - LONG_STORY_KEYS, key=str):
        add((*where, key), f"matching.long_story.{key}", "unknown key")
    words = raw.get("words")
    if isinstance(words, bool) or not isinstance(words, int) or words < 1:
        add((*where, "words"), "matching.long_story.words", "must be a whole number of words, at least 1")
        words = 0
    entries = raw.get("entries")
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        add((*where, "entries"), "matching.long_story.entries", "must be a list of entry ids")
        entries = []
    unless = concept_set(raw.get("unless"), (*where, "unless"), "matching.long_story.unless")
    return LongStory(words, unless, frozenset(entries)) if words else None


def unknown_entries(story: LongStory | None, declared: set[str], add: Add) -> None:
    """Report each id in `long_story.entries` that no entry has."""
    for eid in sorted(story.entries - declared if story else ()):
        add(("matching", "long_story", "entries"), "matching.long_story.entries", f"unknown entry id {eid!r}")
