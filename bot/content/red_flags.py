"""The `red_flags` section of faq.yaml: word groups, signs and their rules, validated.

See `bot.core.safety` for how the rules are read against a message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, cast

from bot.content.model import (
    CUE_GROUPS,
    FALLBACK_URGENT,
    IGNORE_GROUP,
    NOT_GROUP,
    URGENCIES,
    Level,
    RedFlag,
    RedFlagRules,
    Rule,
    Sign,
    Urgency,
)
from bot.content.problems import CONCEPT_RE, Bad, Counting, Report, each_item, report_unknown_keys
from bot.text import normalise

SECTION_KEYS = {"urgent", "tell_doctor", "words", "signs", "levels"}
SIGN_KEYS = {"id", "label", "tell", "when", "urgency", "why", "examples", "history"}
RULE_KEYS = {"all", "near", "unless", "urgency"}
LEVEL_KEYS = {"title", "advice"}
DIGIT_LETTER = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")


# ---------------------------------------------------------------------------------------------- loading
def parse_red_flags(raw: Any, report: Report) -> RedFlagRules | None:
    """Validate the `red_flags` section of faq.yaml; every problem goes to `report`."""
    if not isinstance(raw, dict):
        report(None, "red_flags", "must be a mapping with words and signs")
        return None
    bad = Counting(report)

    report_unknown_keys(raw, SECTION_KEYS, "red_flags", bad)
    urgent = raw.get("urgent")
    if not isinstance(urgent, str) or not urgent.strip():
        bad(None, "red_flags.urgent", "missing or empty: the message that tells people to get care")
        urgent = FALLBACK_URGENT
    tell_doctor = raw.get("tell_doctor", "")
    if not isinstance(tell_doctor, str):
        bad(None, "red_flags.tell_doctor", "must be text")
        tell_doctor = ""

    phrases, prefixes = _parse_words(raw.get("words"), bad)
    groups = {g for gs in phrases.values() for g in gs} | {g for _, gs in prefixes for g in gs}
    signs = _parse_signs(raw.get("signs"), groups, bad)
    levels = _parse_levels(raw.get("levels", {}), bad)
    if bad.count:
        return None
    return RedFlagRules(
        flags=tuple(s.flag for s in signs),
        signs=tuple(signs),
        phrases=MappingProxyType(phrases),
        prefixes=tuple(prefixes),
        urgent=urgent.strip(),
        tell_doctor=tell_doctor.strip(),
        levels=MappingProxyType(levels),
    )


def _parse_levels(raw: Any, bad: Bad) -> dict[str, Level]:
    """`levels`: for each urgency, the heading of the urgent message and what to do (optional)."""
    levels: dict[str, Level] = {}
    if not isinstance(raw, dict):
        bad(None, "red_flags.levels", f"must map urgencies ({', '.join(URGENCIES)}) to a title and advice")
        return levels
    for name, item in raw.items():
        fld = f"red_flags.levels.{name}"
        if name not in URGENCIES:
            bad(None, fld, f"unknown urgency (allowed: {', '.join(URGENCIES)})")
            continue
        if not isinstance(item, dict):
            bad(None, fld, "must be a mapping with title and advice")
            continue
        for key in sorted(set(item) - LEVEL_KEYS, key=str):
            bad(None, f"{fld}.{key}", f"unknown key (allowed: {', '.join(sorted(LEVEL_KEYS))})")
        title, advice = item.get("title"), item.get("advice", "")
        if not isinstance(title, str) or not title.strip():
            bad(None, f"{fld}.title", "missing or empty: the heading of the urgent message")
        elif not isinstance(advice, str):
            bad(None, f"{fld}.advice", "must be text")
        else:
            levels[name] = Level(" ".join(title.split()), " ".join(advice.split()))
    return levels


def _parse_words(
    raw: Any, bad: Bad
) -> tuple[dict[tuple[str, ...], frozenset[str]], list[tuple[str, frozenset[str]]]]:
    phrases: dict[tuple[str, ...], frozenset[str]] = {}
    prefixes: dict[str, frozenset[str]] = {}
    if not isinstance(raw, dict) or not raw:
        bad(None, "red_flags.words", "must map each word group to its words and phrases")
        return phrases, []
    for name, items in raw.items():
        fld = f"red_flags.words.{name}"
        if not isinstance(name, str) or not CONCEPT_RE.match(name):
            bad(None, fld, "group names use lowercase letters, digits and dashes")
            continue
        if not isinstance(items, list) or not items or not all(isinstance(x, str) for x in items):
            bad(None, fld, "needs a list of words or phrases")
            continue
        for item in items:
            if item.strip().endswith("*"):
                stem = normalise(item.strip()[:-1])
                if " " in stem or len(stem) < 4:
                    bad(None, fld, f"{item!r}: a '*' goes after one word of at least four letters")
                    continue
                prefixes[stem] = prefixes.get(stem, frozenset()) | {name}
                continue
            key = tuple(normalise(DIGIT_LETTER.sub(" ", item)).split())
            if not key:
                bad(None, fld, f"{item!r} has no words in it")
                continue
            phrases[key] = phrases.get(key, frozenset()) | {name}
    return phrases, sorted(prefixes.items(), key=lambda p: -len(p[0]))


def _parse_signs(raw: Any, groups: set[str], bad: Bad) -> list[Sign]:
    signs: list[Sign] = []
    for item in each_item(raw, "red_flags.signs", "sign", SIGN_KEYS, bad, "id, label, tell and when"):
        label, tell = item.raw.get("label"), item.raw.get("tell", "")
        if not isinstance(label, str) or not label.strip():
            item.fail("label", "missing or empty")
        if not isinstance(tell, str):
            item.fail("tell", "must be text: what to tell the doctor")
        urgency, why, examples, history = _parse_sign_extras(item.raw, item.fail)
        rules = _parse_rules(item.raw.get("when"), groups, item.fail)
        if item.ok and item.id is not None and isinstance(label, str) and isinstance(tell, str):
            flag = RedFlag(item.id, label.strip(), tell.strip(), urgency, why)
            signs.append(Sign(flag, tuple(rules), examples, history))
    return signs


def _parse_urgency(raw: Any, fail: Callable[[str, str], None], sub: str) -> Urgency | None:
    if raw is None:
        return None
    if raw not in URGENCIES:
        fail(sub, f"must be one of {', '.join(URGENCIES)}")
        return None
    return cast(Urgency, raw)


def _parse_sign_extras(
    item: dict[Any, Any], fail: Callable[[str, str], None]
) -> tuple[Urgency, str, tuple[str, ...], bool]:
    """A sign's urgency, why, examples and history flag; a `soon` sign must say why it cannot wait."""
    urgency = _parse_urgency(item.get("urgency", "today"), fail, "urgency") or "today"
    why = item.get("why", "")
    if not isinstance(why, str):
        fail("why", "must be text: why a doctor should see it")
        why = ""
    why = " ".join(why.split())
    if urgency != "today" and not why:
        fail("why", f"missing: a sign with urgency {urgency} must say why, in plain words")
    examples = item.get("examples", [])
    if not isinstance(examples, list) or not all(isinstance(x, str) and x.strip() for x in examples):
        fail("examples", "must be a list of messages that describe this sign")
        examples = []
    history = item.get("history", False)
    if not isinstance(history, bool):
        fail("history", "must be true or false")
        history = False
    return urgency, why, tuple(examples), history


def _parse_rules(raw: Any, groups: set[str], fail: Callable[[str, str], None]) -> list[Rule]:
    if not isinstance(raw, list) or not raw:
        fail("when", "needs a list of rules, e.g. - all: [numb]")
        return []
    rules: list[Rule] = []
    for k, r in enumerate(raw):
        sub = f"when[{k}]"
        if not isinstance(r, dict) or not isinstance(r.get("all"), list) or not r["all"]:
            fail(sub, "a rule needs 'all': a list of word groups (and optionally 'near', 'unless')")
            continue
        for key in sorted(set(r) - RULE_KEYS, key=str):
            fail(f"{sub}.{key}", f"unknown key (allowed: {', '.join(sorted(RULE_KEYS))})")
        elements: list[frozenset[str]] = []
        for element in r["all"]:
            names = frozenset(str(element).split("|"))
            for n in sorted(names - groups):
                fail(f"{sub}.all", f"unknown word group {n!r} (define it under red_flags.words)")
            if names & {NOT_GROUP, IGNORE_GROUP, *CUE_GROUPS}:
                fail(f"{sub}.all", f"'{NOT_GROUP}', '{IGNORE_GROUP}' and cue groups cannot be part of a rule")
            elements.append(names)
        near = r.get("near")
        if near is not None and (isinstance(near, bool) or not isinstance(near, int) or near < 1):
            fail(f"{sub}.near", "must be a whole number of words, 1 or more")
            near = None
        unless = r.get("unless", [])
        if not isinstance(unless, list):
            fail(f"{sub}.unless", "must be a list of word groups")
            unless = []
        for n in sorted({str(u) for u in unless} - groups):
            fail(f"{sub}.unless", f"unknown word group {n!r}")
        urgency = _parse_urgency(r.get("urgency"), fail, f"{sub}.urgency")
        rules.append(Rule(tuple(elements), near, frozenset(str(u) for u in unless), urgency))
    return rules
