"""The matcher as a person meets it: typos, slang, word order, noise, and the accuracy floor."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from bot.content.load import load_knowledge
from bot.content.model import KnowledgeBase
from bot.core import ranking
from bot.core.matching import Matcher
from bot.text import normalise, proper_names

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"

FORM = {"incorrect-form", "improve-form", "form-tips"}
CORE = {"strengthen-core", "core-exercises", "muscle-imbalances"}
HAMSTRING = {"tight-hamstrings", "stretch-hamstrings", "hamstring-stretch-frequency"}
STRETCH = {"stretch-hamstrings", "hamstring-stretch-frequency"}
ALTERNATIVES = {"alternative-exercises", "modify-exercise"}
NERVE = {"herniated-disc", "spinal-stenosis", "professional-help"}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(ROOT / "bot" / "faq.yaml")


@pytest.fixture(scope="module")
def matcher(kb: KnowledgeBase) -> Matcher:
    return Matcher(kb)


def answered(matcher: Matcher, text: str) -> str | None:
    m = matcher.match(text)
    return m.entry.id if m.band == "confident" and m.entry else None


@pytest.mark.parametrize(
    ("text", "acceptable"),
    [
        ("my lumbar aches after the sled", {"why-back-hurts"}),
        ("wher do i put my feet", FORM),
        ("lowr bak pain aftr leg pres", {"why-back-hurts"}),
        ("hamstrngs tight", HAMSTRING),
        ("herniatd disk", {"herniated-disc"}),
        ("stenossis", {"spinal-stenosis"}),
        ("plnks or crunchs?", CORE),
        ("shud i wear a beltt", {"back-support"}),
        ("how long should i hold the strech", STRETCH),
    ],
)
def test_typos_are_understood(matcher: Matcher, text: str, acceptable: set[str]) -> None:
    assert answered(matcher, text) in acceptable


@pytest.mark.parametrize(
    ("text", "acceptable"),
    [
        ("LEG PRESS BACK PAIN!!!", {"why-back-hurts"}),
        ("back pain leg press", {"why-back-hurts"}),
        ("pain in the back from leg press, why", {"why-back-hurts"}),
        ("leg press. back. pain. why??", {"why-back-hurts"}),
        ("back pain 😭😭 after the sled", {"why-back-hurts"}),
        ("👣 placement on the sled?", FORM),
        ("rounded shoulders on leg press bad?", FORM),
        ("I arch my lower back a lot when pressing", FORM),
        ("is a belt worth it", {"back-support"}),
        ("swap the leg press for what", ALTERNATIVES),
        ("sciatica after leg day", NERVE),
        ("should I get my back checked by a physio", {"professional-help"}),
        ("what does stenosis mean", {"spinal-stenosis"}),
        (
            "it's not my knees, it's my lower back that aches after leg press. what's causing it",
            {"why-back-hurts"},
        ),
        ("keep my back flat on the seat?", FORM),
        ("correct LP technique?", FORM),
        # follow-ups that only make sense in a chat with this bot
        ("technique?", FORM),
        ("alternatives?", ALTERNATIVES),
        ("when should I see a physio about this?", {"professional-help"}),
    ],
)
def test_paraphrases_slang_and_keyword_queries(matcher: Matcher, text: str, acceptable: set[str]) -> None:
    assert answered(matcher, text) in acceptable


@pytest.mark.parametrize(
    "text",
    [
        "hi",
        "thanks!",
        "good morning",
        "asdfgh",
        "/hlep",
        "👍",
        "why does the leg press hurt my knees",
        "deadlifts wreck my lower back",
        "lower back pain when running",
        "how much weight should I leg press",
        "best leg press machine to buy",
        "my back is stiff from my office chair",
        "core exercises for a six pack",
        "pulled my hamstring sprinting",
        "leg press world record",
        "alternative rock bands",
        "what's the best form of cardio",
        "proper form for push ups",
        "I have a doctors appointment tomorrow",
        "my hamstrings are sore two days after leg day",
        "foot arch pain on the leg press",
        "woke up with lower back pain, must have slept funny",
    ],
)
def test_off_topic_abstains(matcher: Matcher, text: str) -> None:
    m = matcher.match(text)
    assert m.band == "none" and m.entry is None


@pytest.mark.parametrize("text", ["", " ", "\n\t ", "a", "?", "<b>hello</b>", "\u200b\u200d", "\x00\x07"])
def test_empty_and_noise(matcher: Matcher, text: str) -> None:
    m = matcher.match(text)
    assert m.band == "none" and 0 <= m.score <= 100


def test_a_long_story_is_answered_by_the_sentence_that_asks(matcher: Matcher) -> None:
    story = (
        "So I have been lifting for about two years now and mostly I do upper body. "
        "Last month I added legs twice a week with some friends. We usually do the leg press first. "
    ) * 20
    text = story + "Anyway, how long should I hold a hamstring stretch?"
    assert len(text) > 3000
    assert answered(matcher, text) in STRETCH


def test_huge_input_still_answers(matcher: Matcher) -> None:
    text = ("blah " * 20000) + "why does my lower back hurt after leg press?"
    assert answered(matcher, text) == "why-back-hurts"


def test_scores_and_alternatives_are_well_formed(matcher: Matcher) -> None:
    m = matcher.match("tight hamstrings and lower back pain on the leg press")
    assert m.band == "confident" and m.entry is not None
    scores = [c.score for c in m.candidates]
    assert all(0 <= s <= 100 for s in scores)
    assert scores == sorted(scores, reverse=True) or m.entry.kind == "fix"  # tie-break may lift a fix
    assert len({c.entry.id for c in m.candidates}) == len(m.candidates)


def test_unsure_band_offers_candidates(kb: KnowledgeBase) -> None:
    strict = dataclasses.replace(kb, matching=dataclasses.replace(kb.matching, confident=100.0))
    m = Matcher(strict).match("tight hamstrings and a sore lower back on the leg press")
    assert m.band == "unsure" and m.entry is not None and m.entry.id in HAMSTRING
    assert {c.entry.id for c in m.candidates} >= HAMSTRING


def test_the_same_question_gets_the_same_answer(matcher: Matcher) -> None:
    assert matcher.match("feet placement?") == matcher.match("feet placement?")


HELD_OUT = sorted(DATA.glob("holdout*.yaml"))


def counts(matcher: Matcher, path: Path) -> tuple[int, int, int, int]:
    """(in-scope right, in-scope, off-topic abstained, off-topic) for one labelled set."""
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    in_scope = [it for it in items if it["ids"]]
    off_topic = [it for it in items if not it["ids"]]
    right = sum(answered(matcher, it["q"]) in it["ids"] for it in in_scope)
    abstained = sum(answered(matcher, it["q"]) is None for it in off_topic)
    return right, len(in_scope), abstained, len(off_topic)


@pytest.mark.parametrize("path", [DATA / "labelled.yaml", *HELD_OUT], ids=lambda p: p.name)
def test_labelled_sets_are_big_enough(path: Path) -> None:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert len(items) >= 150
    assert sum(not it["ids"] for it in items) / len(items) >= 0.25


def test_accuracy_floor_on_the_labelled_set(matcher: Matcher) -> None:
    right, n_in, abstained, n_off = counts(matcher, DATA / "labelled.yaml")
    assert right / n_in >= 0.95 and abstained / n_off >= 0.90, (right, n_in, abstained, n_off)


def test_accuracy_floor_on_the_held_out_sets(matcher: Matcher) -> None:
    """Pooled over all held-out sets: 95% / 90%; no single set below 92% in scope."""
    totals = [0, 0, 0, 0]
    for path in HELD_OUT:
        right, n_in, abstained, n_off = counts(matcher, path)
        assert right / n_in >= 0.92, (path.name, right, n_in)
        assert abstained / n_off >= 0.90, (path.name, abstained, n_off)
        totals = [t + x for t, x in zip(totals, (right, n_in, abstained, n_off), strict=True)]
    right, n_in, abstained, n_off = totals
    assert right / n_in >= 0.95 and abstained / n_off >= 0.90, totals


def test_a_typo_is_never_corrected_into_an_off_topic_word(matcher: Matcher) -> None:
    # "lingers" is one edit pair away from "lunges", an exercise that would mark the message off topic
    assert (
        answered(matcher, "the pain from leg press lingers for days, who should I talk to?")
        == "professional-help"
    )


def test_the_question_decides_when_it_names_the_leg_press_or_the_back(matcher: Matcher) -> None:
    mixed = "my quads are growing nicely but quick one: does a belt protect the lower back on leg press?"
    assert answered(matcher, mixed) == "back-support"
    # the question alone ("is it my hamstrings?") cannot make a deadlift story about the leg press
    assert answered(matcher, "my lower back hurts when I do romanian deadlifts, is it my hamstrings?") is None


def test_a_very_large_knowledge_base_scores_questions_the_same_way(
    kb: KnowledgeBase, matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past DOC_SCAN_LIMIT the closest question is found entry by entry instead of through the postings;
    both ways must give every message the same answer, score and alternatives."""
    sets = (DATA / "labelled.yaml", *HELD_OUT)
    texts = [it["q"] for path in sets for it in yaml.safe_load(path.read_text(encoding="utf-8"))]
    fast = [matcher.match(t) for t in texts]
    monkeypatch.setattr(ranking, "DOC_SCAN_LIMIT", 0)
    assert [matcher.match(t) for t in texts] == fast


# ------------------------------------------------------------------------ people as they really write
REALISTIC = DATA / "chat-realistic.yaml"  # long, rambling, slang, voice-to-text, non-native, one word
OFF_OR_PARTIAL = DATA / "off-topic-partial.yaml"  # back pain in general, belts for other lifts, ...
GYM_FLOOR = DATA / "gym-floor.yaml"  # stories with the question last, slang, non-native, general back pain
FORUM = DATA / "forum-stories.yaml"  # forum stories with knees, hips, sciatica, other machines; look-alikes
THREADS = DATA / "forum-threads.yaml"  # forum threads: the question anywhere or unmarked; other joints, gear


def test_accuracy_floor_on_realistic_chat_messages(matcher: Matcher) -> None:
    right, n_in, abstained, n_off = counts(matcher, REALISTIC)
    assert right / n_in >= 0.97 and abstained / n_off >= 0.95, (right, n_in, abstained, n_off)
    assert (right + abstained) / (n_in + n_off) >= 0.98


def test_accuracy_floor_on_off_topic_and_partial_messages(matcher: Matcher) -> None:
    right, n_in, abstained, n_off = counts(matcher, OFF_OR_PARTIAL)
    assert right / n_in >= 0.8 and abstained / n_off >= 0.96, (right, n_in, abstained, n_off)


def test_accuracy_floor_on_gym_floor_messages(matcher: Matcher) -> None:
    right, n_in, abstained, n_off = counts(matcher, GYM_FLOOR)
    assert right / n_in >= 0.94 and abstained / n_off >= 0.95, (right, n_in, abstained, n_off)


def test_accuracy_floor_on_forum_stories(matcher: Matcher) -> None:
    right, n_in, abstained, n_off = counts(matcher, FORUM)
    assert right / n_in >= 0.95 and abstained / n_off >= 0.95, (right, n_in, abstained, n_off)


def test_accuracy_floor_on_forum_threads(matcher: Matcher) -> None:
    right, n_in, abstained, n_off = counts(matcher, THREADS)
    assert right / n_in >= 0.94 and abstained / n_off >= 0.95, (right, n_in, abstained, n_off)


@pytest.mark.parametrize(
    "text",
    [
        "my back hates the leg press",
        "does the sled wreck your spine",
        "is leg pressing bad for my lower back",
    ],
)
def test_a_plain_on_topic_message_that_names_nothing_specific_is_answered(
    matcher: Matcher, text: str
) -> None:
    assert answered(matcher, text) == "why-back-hurts"


def test_a_plain_message_keeps_its_answer_when_an_entry_stops_naming_the_back(kb: KnowledgeBase) -> None:
    """How rare "back" is shifts every score a little when one question of one entry stops naming it; a
    plain on-topic message must still get the general answer, not a "did you mean"."""
    entries = tuple(
        dataclasses.replace(e, questions=tuple(q.replace(" in my lower back", "") for q in e.questions))
        for e in kb.entries
    )
    edited = Matcher(dataclasses.replace(kb, entries=entries))
    plain = [
        "my back hates the leg press",
        "leg press makes my lumbar scream",
        "does leg press damage your spine",
    ]
    assert [answered(edited, t) for t in plain] == ["why-back-hurts"] * 3


@pytest.mark.parametrize(
    ("text", "nearest"),
    [
        ("is a lifting belt a good idea for deadlifts", "back-support"),
        ("how do i get rid of back pain", "improve-form"),
        ("my lower back aches all the time, why", "why-back-hurts"),
    ],
)
def test_near_but_not_about_the_leg_press_is_a_partial_answer(
    matcher: Matcher, text: str, nearest: str
) -> None:
    m = matcher.match(text)
    assert m.band == "none" and m.entry is None and m.partial
    assert nearest in {c.entry.id for c in m.alternatives}


@pytest.mark.parametrize(
    "text",
    [
        "i always get lower back pain after working out, what am i doing wrong?",
        "i drive all day for work. would a back brace protect my spine?",
        "which stretches are best for a sore lower back",
        "does a herniated disc always need surgery",
    ],
)
def test_back_pain_or_a_belt_without_the_leg_press_is_a_partial_answer(matcher: Matcher, text: str) -> None:
    # "doing wrong" fits any lift, and a question that names only the back cannot vouch for a story about work
    m = matcher.match(text)
    assert m.band == "none" and m.partial and m.alternatives


@pytest.mark.parametrize(
    "text",
    ["what belt do most powerlifters wear", "my stomach hurts after dinner", "can spinal stenosis be cured"],
)
def test_another_sport_or_a_cure_is_not_answered_from_the_article(matcher: Matcher, text: str) -> None:
    assert answered(matcher, text) is None


def test_a_denied_symptom_is_not_read_as_named(matcher: Matcher) -> None:
    named = matcher.analyse("my lower back spasms with radiating pain down the leg")
    denied = matcher.analyse("my lower back spasms, no radiating pain, not serious")
    assert "nerve" in named.concepts
    assert "nerve" not in denied.concepts and "persistent" not in denied.concepts


def test_another_form_of_a_known_word_is_that_word_not_a_typo_of_another(matcher: Matcher) -> None:
    # "twinging" is one edit pair from "tingling" (a nerve sign), but it is a form of "twinge" (pain)
    concepts = matcher.analyse("my lower back keeps twinging on the leg press").concepts
    assert "pain" in concepts and "nerve" not in concepts


def test_a_question_that_asks_what_to_do_leads_over_the_story(matcher: Matcher) -> None:
    # "keep" in the story reads as carrying on with the exercise; the question asks how to stop the pain
    assert answered(matcher, "my back keeps getting tweaked on leg day. how can i avoid it?") in FORM


def test_how_often_in_the_story_is_a_routine_and_in_the_question_a_question(matcher: Matcher) -> None:
    story = "i do legs twice a week and my lower back is sore for a day or two after the leg press."
    assert answered(matcher, story + " why is that?") == "why-back-hurts"
    assert answered(matcher, "i leg press 3 times a week. how often should i stretch?") in STRETCH


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("which muscles should i make strong so my back stops hurting on the leg press", CORE),
        ("my lower back tweaks at the bottom of the leg press, should i cut the range?", {"modify-exercise"}),
        ("should i stop leg pressing for a while, my back is not happy", ALTERNATIVES),
    ],
)
def test_everyday_ways_of_asking_for_a_fix(matcher: Matcher, text: str, wanted: set[str]) -> None:
    assert answered(matcher, text) in wanted


def test_a_phrase_that_contains_the_machine_names_the_machine(matcher: Matcher) -> None:
    # "stop doing leg press" is one phrase (an alternative), and it still names the machine
    assert "legpress" in matcher.analyse("should i just stop doing leg press altogether").concepts
    assert answered(matcher, "should i just stop doing leg press altogether") in ALTERNATIVES


def test_what_else_asks_for_something_other_than_what_the_story_tried(matcher: Matcher) -> None:
    planks = "i already do planks every day and my back still hurts on the leg press. what else could it be?"
    assert answered(matcher, planks) == "why-back-hurts"
    stretches = "I stretch my hamstrings daily but the leg press still wrecks my lower back. anything else?"
    assert answered(matcher, stretches) not in STRETCH


def test_a_message_with_nothing_near_the_topic_is_no_partial_answer(matcher: Matcher) -> None:
    m = matcher.match("what's the weather like tomorrow")
    assert m.band == "none" and not m.partial and not m.alternatives


def test_a_long_post_is_read_for_the_question_after_the_story(matcher: Matcher) -> None:
    story = (
        "ok so a bit of background, i have been training for about three years, mostly upper body, "
        "and a few months ago my physio told me to add more leg work because my knees were weak. "
    ) * 18
    text = story + "anyway my question: where should my feet go on the leg press so my lower back is ok?"
    assert 3000 < len(text) <= 4096
    assert answered(matcher, text) in FORM


def test_a_follow_up_in_a_conversation_skips_the_gate_but_must_name_something(matcher: Matcher) -> None:
    assert matcher.match("and what about stretching?").band == "none"
    m = matcher.match("and what about stretching?", on_topic=True)
    assert m.band == "confident" and m.entry is not None and m.entry.id in STRETCH
    assert matcher.match("tell me more", on_topic=True).band == "none"


# ------------------------------------------------------------------------- what a word is said about
def test_a_body_part_said_to_be_fine_is_not_what_the_message_is_about(matcher: Matcher) -> None:
    fine_knees = "my knees are fine, it's my lower back that aches after the leg press"
    assert "other-joint" not in matcher.analyse(fine_knees).concepts
    assert answered(matcher, fine_knees) == "why-back-hurts"
    # the other way round, the message is about the knees, which the article does not cover
    assert answered(matcher, "my back is totally fine but my knees hurt on the leg press") is None
    # a question about whether something is fine still asks about it
    assert answered(matcher, "is my back ok to leg press?") == "why-back-hurts"


def test_a_word_after_what_it_describes_is_said_about_that(matcher: Matcher) -> None:
    # "tight" after the back describes the back (a sore back), not the hamstrings' flexibility
    back = matcher.analyse("my lower back feels tight after the leg press")
    assert "tight" not in back.concepts and "pain" in back.concepts
    assert answered(matcher, "my lower back feels tight after the leg press") not in HAMSTRING
    assert answered(matcher, "my hamstrings are tight and my lower back hurts after leg press") in HAMSTRING
    # sore quads or glutes are what the leg press is for, not the lower back it hurts
    assert answered(matcher, "my quads are really sore after leg press") is None
    assert answered(matcher, "my glutes are sore after leg press, is that normal") is None


def test_back_as_a_direction_is_not_the_lower_back(matcher: Matcher) -> None:
    assert answered(matcher, "my neck hurts when I push my head back into the pad on the leg press") is None
    assert "back" not in matcher.analyse("the pain came back").concepts
    assert "back" in matcher.analyse("I get back pain after the leg press").concepts


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("what can I try so the leg press stops hurting my back?", FORM),
        ("should I take a few days off leg press so my back can settle?", {"modify-exercise"}),
        ("do I push through my heels on the leg press? my lower back twinges", FORM),
    ],
)
def test_more_everyday_ways_of_asking_what_to_do(matcher: Matcher, text: str, wanted: set[str]) -> None:
    assert answered(matcher, text) in wanted


def test_a_question_about_another_lift_is_not_answered_for_the_story_about_the_machine(
    matcher: Matcher,
) -> None:
    belt = matcher.match("I leg press twice a week and I like it. Should I wear a belt for deadlifts too?")
    assert belt.band == "none" and belt.partial
    # asking for something instead of the machine is still about the machine
    instead = "my lower back hurts on the leg press. should I do squats instead?"
    assert answered(matcher, instead) in ALTERNATIVES
    # a disc is what the article covers whatever the lift
    disc = "I have a herniated disc and leg press is ok. can I still do squats?"
    assert answered(matcher, disc) is not None


def test_when_in_the_story_is_not_how_long_it_hurts(matcher: Matcher) -> None:
    # "for the first few weeks" dates the story; "for weeks" would say the pain will not go away
    text = "leg press felt great for the first few weeks, now my lower back aches after each session. why?"
    assert answered(matcher, text) == "why-back-hurts"


def test_a_back_that_leaves_the_seat_is_a_form_question(matcher: Matcher) -> None:
    assert answered(matcher, "on the leg press my lower back goes up from the seat, how do I fix it") in FORM


def test_how_far_someone_reaches_is_how_flexible_they_are(matcher: Matcher) -> None:
    # the knees here measure a stretch; they are not a knee complaint
    text = "I can barely touch my knees, never mind the floor. is that why the leg press hurts my back?"
    assert answered(matcher, text) in HAMSTRING


def test_a_denial_reaches_past_because_of_to_what_it_denies(matcher: Matcher) -> None:
    # "not because of pain" says there is no pain: a question about size stays a question about size
    assert (
        "pain" not in matcher.analyse("want a leg press swap for bigger quads, not because of pain").concepts
    )
    assert answered(matcher, "leg press alternative for bigger glutes? not because of any pain") is None
    assert "pain" in matcher.analyse("I skip the leg press because of the pain in my back").concepts


def test_asking_what_is_wrong_asks_for_the_mistake(matcher: Matcher) -> None:
    text = "every leg day my lower back is done for by the evening, what could I be getting wrong"
    assert answered(matcher, text) == "incorrect-form"


def test_the_question_decides_between_near_equal_answers_to_its_story(matcher: Matcher) -> None:
    # the story (sciatica) and the question (crunches) pull towards different entries: the question decides
    story = "sciatica again since friday, physio told me to rest from the gym."
    assert answered(matcher, f"{story} are crunches ok? or is that too much") in CORE


def test_a_belt_named_with_another_lift_is_that_lifts_belt(matcher: Matcher) -> None:
    other = matcher.match("do deadlift belts make your core lazy?")
    assert other.band == "none" and other.partial  # the nearest answers come along
    assert answered(matcher, "does wearing a belt on the leg press make my core lazy") == "back-support"


def test_a_story_that_asks_nothing_is_told_why_first(matcher: Matcher) -> None:
    story = "tried feet wide and feet narrow on the leg press. lower back aches either way."
    assert answered(matcher, story) == "incorrect-form"  # the cause and its fix score alike: the cause
    assert answered(matcher, f"{story} what should I change?") == "improve-form"


def test_one_leg_against_the_other_is_not_the_core_against_the_back(matcher: Matcher) -> None:
    text = "my right leg is the stronger leg on the leg press, will single leg sets fix the imbalance?"
    assert answered(matcher, text) is None
    assert answered(matcher, "could an imbalance between my abs and back make the leg press hurt") in CORE


def test_thanks_around_a_follow_up_question_is_not_a_word_the_bot_does_not_know(matcher: Matcher) -> None:
    assert answered(matcher, "cheers! and how do I keep my back flat against the pad") in FORM
    assert answered(matcher, "ok cool, technique for chest press?") is None


def test_a_question_about_form_leads_over_a_story_that_names_other_things(matcher: Matcher) -> None:
    # "for legs" in the story reads as wanting an alternative; the question asks how to do it right
    story = "I only train legs on the machine for legs now. it gives my lower back grief."
    assert answered(matcher, f"{story} how do I do it right?") in FORM


def test_a_story_that_mentions_a_treatment_may_still_ask_what_the_article_answers(matcher: Matcher) -> None:
    story = "my doc says surgery someday for my bulging disc. what leg exercises can i do instead of squats?"
    assert answered(matcher, story) in {"modify-exercise", "alternative-exercises", "herniated-disc"}
    assert answered(matcher, "can stenosis be cured") is None  # the question itself asks about a cure


def test_a_last_question_without_its_mark_still_asks(matcher: Matcher) -> None:
    text = "leg day again and my lower back aches after. is it the seat? what should i change"
    analysis = matcher.analyse(text)
    assert "prevent" in analysis.asked  # "what should i change" is what is asked, not part of the story


def test_which_side_says_nothing_about_what_it_is(matcher: Matcher) -> None:
    left = matcher.analyse("pain goes from my lower back down my left leg after leg press")
    assert "nerve" in left.concepts  # "down my left leg" is "down my leg"


def test_tight_hamstrings_that_pull_on_the_back_are_on_topic_whatever_the_sport(matcher: Matcher) -> None:
    story = "since i took up cycling my hamstrings are so tight and my lower back aches after rides, help?"
    hamstring_entries = {"tight-hamstrings", "stretch-hamstrings", "hamstring-stretch-frequency"}
    assert answered(matcher, story) in hamstring_entries
    assert answered(matcher, "hamstrings tight from cycling, any tips") is None  # nothing of the back


def test_a_story_that_mentions_painkillers_and_asks_what_people_think_is_about_its_disc(
    matcher: Matcher,
) -> None:
    story = "herniated a disc in march, off the painkillers now and back in the gym. what do you guys think?"
    assert answered(matcher, story) in {"herniated-disc", "professional-help", "modify-exercise"}


def test_back_pain_after_a_fall_is_not_leg_press_pain(matcher: Matcher) -> None:
    m = matcher.match("fell on the ice last month and my lower back and hips still ache, what can i do?")
    assert m.band == "none" and m.entry is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("why does the leg dress hurt my back *press", "why does the leg press hurt my back"),
        ("where do i put my feer *feet", "where do i put my feet"),
        ("my back hurts* on leg press", "my back hurts on leg press"),  # a star for emphasis
        (
            "lost 8kg w/o trying, b4 that w/ my back fine",
            "lost 8kg without trying before that with my back fine",
        ),
    ],
)
def test_chat_corrections_and_shorthand_are_read_as_meant(text: str, words: str) -> None:
    assert normalise(text) == words


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("haha ignore Tom's advice", {"toms"}),
        ("my coach Gaz says my hips tuck", {"gaz"}),
        ("Tom says my hips tuck. Why?", set()),  # a capital that starts a sentence
        ("My Lower Back Hurts On The Leg Press", set()),  # title case is not names
        ("my PT says so", set()),  # an abbreviation in capitals
    ],
)
def test_a_capital_inside_a_sentence_marks_a_name(text: str, names: set[str]) -> None:
    assert proper_names(text) == names


@pytest.mark.parametrize(
    "text",
    [
        "my dog has a bad back and a slipped disc, any exercises for him?",
        "how long should i hold a quad stretch",
        "planks make my lower back ache, what am i doing wrong",
        "my glutes are crazy sore two days after leg press",
        "lol ignore Toms, he says that about everything",
        "should i wear a belt for dead lifts",
        "is a posture corrector worth it for my job",
        "im 20 weeks pregnant. is the leg press still safe for me?",
        "you mentioned protein earlier, how much should i eat",
        "had a knee replacement in may. how do i do the leg press safely?",
        "gout in my big toe. should i avoid the leg press?",
        "the back pad of our leg press is torn, who should i report it to",
        "who won the footy last night",
        "my quads are destroyed after leg press, how do i recover",
        "my thighs are so sore after leg press i can barely sit down",
        "is sleeping on your stomach bad for your lower back",
        "my back is fine but my butt is really sore after leg press",
        # the 45 lb plate, the 45 degree back extension: not the 45 degree leg press
        "put the 45 lb plates on and my lower back was pumped, normal?",
        "single leg press or both legs, which grows the quads more",
        "which lifting belt should i buy, lever or prong?",
    ],
)
def test_near_misses_of_other_kinds_are_not_answered(matcher: Matcher, text: str) -> None:
    assert answered(matcher, text) is None


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("i never do any stretching and my back hurts on the leg press, why?", HAMSTRING),
        ("zero core work in my routine, could that be why the sled hurts my back", CORE),
    ],
)
def test_a_practice_said_to_be_missing_is_named_not_denied(
    matcher: Matcher, text: str, wanted: set[str]
) -> None:
    assert answered(matcher, text) in wanted


@pytest.mark.parametrize(
    "text",
    [
        "the hack squat machine makes my lower back sore, what do i do",
        "how long should i be able to hold a plank at my age",
        "aching between my shoulder blades on the leg press",
        "the prowler sled push wrecks my lower back",
        "hack squat or front squat, which builds bigger quads",
        "my lower back hurts when i sleep on my stomach",
        "is the leg press bad for an inguinal hernia",
        "best lumbar support cushion for the car?",
        "is it safe to leg press at 30 weeks pregnant",
        "the shoulder pads on the leg press dig into my shoulders",
        "the leg press hurts my knees, not my back, what do i do",
        "is the leg press safe for kids, my 13 year old wants to lift",
        "is it ok to leg press with period cramps in my lower back",
        "is it normal for my quads to be sore two days after leg press",
        "been hiking every weekend and my lower back gets tight on the climbs, any suggestions",
        "my lower back feels tight and weak after cricket, how do i fix it",
        "my back hurts on the bike but never on the leg press, why",
        "would a lifting belt help my back on the erg",
        "the leg press hurts my groin",
    ],
)
def test_near_misses_of_the_leg_press_and_the_lower_back_are_not_answered(
    matcher: Matcher, text: str
) -> None:
    assert answered(matcher, text) is None


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("my back hurts on the leg press, should i swap it for the hack squat?", ALTERNATIVES),
        ("the press for legs at my gym makes my lower back ache, why?", {"why-back-hurts"}),
        ("planks and crunches, how often to protect my back on leg day", CORE),
        ("back pain on the leg press, when should i worry", {"professional-help"}),
        ("does the leg press put pressure on my spinal cord?", {"spinal-stenosis"}),
        ("what am i stuffing up on the sled, my lower back is cooked after", FORM),
        ("my back hurts on leg press, would lunges at home do the same job?", ALTERNATIVES),
        (
            "how do i know if my lower back pain is serious or just soreness from leg day",
            {"professional-help"},
        ),
        (
            "my hamstrings are like steel cables and the leg press strains my lower back",
            HAMSTRING | {"why-back-hurts"},
        ),
        ("how do i make my torso sturdier so the leg press stops hurting my lower back", CORE),
        (
            "bought a neoprene waist wrap off amazon, worth wearing it on the sled for my back?",
            {"back-support"},
        ),
        ("what can i do at home instead if the machine hurts my back", ALTERNATIVES),
        ("give me the dos and donts for the sled so i stop wrecking my lower back", FORM),
        (
            "i only leg press on my days off and my lower back aches after, whats causing it",
            {"why-back-hurts"},
        ),
        ("how do i stop the leg press hurting my lower back", FORM),
        (
            "my back pain isnt going away even with rest and a lighter leg press, what next",
            {"professional-help"},
        ),
        ("my back hates the leg press, what do people do in its place", ALTERNATIVES),
        (
            "ski instructor here, my tailbone lifts off the seat at the bottom of the leg press",
            FORM | HAMSTRING,
        ),
        ("my climbing coach says 30 secs per stretch, is that right for my hamstrings", STRETCH),
        ("every single leg day my lower back pays for it and i have no clue why", {"why-back-hurts"}),
        ("why does the leg press make my back sore right above my belt line", {"why-back-hurts"}),
        ("any way to keep my back from getting sore on the leg press", FORM),
        ("my back hates the leg press, should i just drop it?", ALTERNATIVES),
        ("none of us can touch our toes, could that be why our backs hurt on the leg press", HAMSTRING),
        (
            "my physio says my back muscles are weak next to my legs. does that explain the leg press pain?",
            CORE,
        ),
        (
            "my doctor said i have a bulging disc, is the leg press ok for me?",
            {"herniated-disc", "professional-help"},
        ),
        ("how must i sit in the leg press machine so my back is not hurting", FORM),
        ("how long should i wait before seeing a physio about leg press back pain", {"professional-help"}),
        ("keep getting back pain on the leg press no matter what i change, what now", {"professional-help"}),
        ("what happens when the squishy pad between your vertebrae pokes out", {"herniated-disc"}),
        (
            "i slouch on the seat when i push the platform away, is that why it aches low down",
            FORM | {"why-back-hurts"},
        ),
        ("the leg press is out for me because of my back. what else can i do?", ALTERNATIVES),
        ("my legs push fine but my back hurts on the leg dress, why", {"why-back-hurts"}),
        ("my tail bone keeps curling up at the bottom of the leg press", FORM | {"tight-hamstrings"}),
        ("i feel a zap that runs from my lower back into my calf after leg press", NERVE),
        ("my low back feels it instead of my legs on the leg press, why", {"why-back-hurts"}),
        ("how stiff are the backs of your thighs meant to be to hurt your back on the leg press", HAMSTRING),
        ("does a velcro thing round my waist help my back on the leg press", {"back-support"}),
        ("what other leg exercises are easy on a sore lower back", ALTERNATIVES),
        ("how am i supposed to sit on the sled so my back is ok", FORM),
        ("what was that stretch you told me about?", STRETCH),
        ("should my feet be flat on the platform?", FORM),
        ("bulging disc, it hurts most when my knees come to my chest on the sled", {"herniated-disc"}),
        ("hamstring stretch with a strap, how long per side?", STRETCH),
        (
            "my trainer calls it butt wink. how do i stop my hips rolling up on the sled?",
            FORM | {"tight-hamstrings"},
        ),
        (
            "my physio put the leg press in my plan but my lower back aches after it. why would that be",
            {"why-back-hurts"},
        ),
        ("my PT gave me back extensions for home. will they help my back on the leg press?", CORE),
        ("the bit about shoulders you mentioned, what was it", FORM),
        ("my lower back goes all round at the bottom of each rep", FORM | {"tight-hamstrings"}),
        ("do weightbelts help your back on the leg press", {"back-support"}),
        (
            "ive got a bulging disc. is the leg press off the table now?",
            {"herniated-disc", "professional-help"},
        ),
        (
            "diagnosed with stenosis last month. should i stay away from the leg press?",
            {"spinal-stenosis", "professional-help"},
        ),
        ("any quad exercises that dont load my lower back", ALTERNATIVES),
        (
            "my pelvis tucks under like a dog's tail at the bottom, is that bad for my lower back",
            FORM | {"tight-hamstrings"},
        ),
        ("lying on my back with my leg up the door frame, how many seconds should i stay like that", STRETCH),
        # two words run together are read as the two words
        ("what gives me such a backache after the sled", {"why-back-hurts"}),
        # "what does that mean?" after a story asks why it happens
        (
            "my lower back started to ache halfway through my leg press set, what does that mean",
            {"why-back-hurts"},
        ),
        # "anything else I'm missing?" after a list of cues asks to complete the list
        ("back flat on the pad, shoulders down, feet flat... anything else I'm missing on leg press?", FORM),
        ("my bum comes off seat on the leg press", FORM | {"tight-hamstrings"}),
        ("the 45 leaves my low back sore, why would that be", {"why-back-hurts"}),
        ("is a lifting belt for the leg press worth buying?", {"back-support"}),
        # "reckons" is "reckon", not a typo of "reasons"; "ok so" leads into a story, not a question
        ("ok so my PT reckons I arch way too much on the leg press. how do I stop doing that", FORM),
        (
            "physio reckons my trunk muscles dont hold me steady when i push on the sled. is that a thing",
            CORE | {"muscle-imbalances"},
        ),
        # strong legs describe the person, not the core the article would strengthen; "proper" can mean "very"
        (
            "rower here, my legs are strong but the leg press makes my lower back sore. whats going on",
            {"why-back-hurts"},
        ),
        ("my back is proper knackered after the leg press, any idea why", {"why-back-hurts"}),
        # "how do I stop it" asks how to prevent it, "should I stop" whether to drop the exercise
        ("how do I stop the leg press doing my back in", FORM),
        ("should i just stop doin lp, my back hates it", ALTERNATIVES),
        # "single leg press" names the machine, whatever else it says
        ("my lower back aches after every single leg press workout, why", {"why-back-hurts"}),
        # "presing" is a typo of "pressing": only everyday words have forms that are left alone
        ("why does my back ache after leg presing", {"why-back-hurts"}),
        ("how should I be sitting on the leg press so my back is ok", FORM),
        # one leg at a time spares a sore back; asked for the legs alone it is programming (below)
        ("would a single leg press be kinder to my sore lower back", ALTERNATIVES),
        ("should i drop the weight on the sled, my back is sore", ALTERNATIVES),
        ("how long should i hold a back of thigh stretch", STRETCH),
        ("how am i meant to sit on the leg press so my back is fine", FORM),
        ("what about squats with no weight instead, would my back like that more", ALTERNATIVES),
    ],
)
def test_more_ways_of_saying_what_the_article_answers(matcher: Matcher, text: str, wanted: set[str]) -> None:
    assert answered(matcher, text) in wanted


@pytest.mark.parametrize(
    "text",
    [
        "deadlifts leave my lower back sore but the leg press is totally fine, whats wrong with my deadlift",
        "the hack squat kills my back but leg press doesnt, why",
    ],
)
def test_the_machine_said_not_to_hurt_beside_a_lift_that_does_is_not_the_question(
    matcher: Matcher, text: str
) -> None:
    assert answered(matcher, text) is None


def test_the_machine_said_fine_before_the_back_started_to_hurt_is_still_the_question(
    matcher: Matcher,
) -> None:
    text = "leg press felt fine for a month but now my lower back aches after every set, why"
    assert answered(matcher, text) == "why-back-hurts"


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        (
            "no numbness or tingling at all, just a dull ache in my lower back after leg press, why",
            {"why-back-hurts"},
        ),
        ("when should i actually worry about lower back pain from the leg press", {"professional-help"}),
        (
            "tried lighter weight and a belt already. my butt still lifts off the seat. what else",
            HAMSTRING | FORM,
        ),
    ],
)
def test_lists_fillers_and_what_was_tried_are_read_as_meant(
    matcher: Matcher, text: str, wanted: set[str]
) -> None:
    assert answered(matcher, text) in wanted


def test_legs_that_go_heavy_when_walking_point_to_the_spinal_canal(matcher: Matcher) -> None:
    text = "since i started the leg press my legs go heavy and achy when i walk a while, lower back too"
    assert answered(matcher, text) in NERVE


def test_tingling_hands_from_gripping_the_handles_are_not_the_back(matcher: Matcher) -> None:
    assert answered(matcher, "my hands tingle after leg press from gripping the handles so hard") is None


MOVING_STORY = (
    "three weeks ago i hurt my lower back hauling a wardrobe up the stairs with my brother. it got better "
    "for a few days but now it aches again most evenings, low down on the right side. should i go and see "
    "someone about it?"
)


def test_a_long_story_about_another_activity_is_not_answered_with_the_machines_advice(
    matcher: Matcher,
) -> None:
    # "see someone if the leg press keeps hurting" is not the answer to a story about moving furniture
    moving = matcher.match(MOVING_STORY)
    assert moving.entry is None and moving.off_topic
    # the same story on the machine is the article's question...
    on_the_machine = matcher.match(
        MOVING_STORY.replace("hauling a wardrobe up the stairs with my brother", "on the sled")
    )
    assert on_the_machine.entry is not None and on_the_machine.entry.id == "professional-help"
    # ...and so is one that names what the article covers, whatever the activity
    nerve = matcher.match(
        MOVING_STORY.replace("right side.", "right side and now a shooting pain goes down my leg.")
    )
    assert nerve.entry is not None and nerve.entry.id in NERVE
    # a short question is not a story
    short = matcher.match("my lower back keeps aching, should i go and see someone about it?")
    assert short.entry is not None and short.entry.id == "professional-help"
