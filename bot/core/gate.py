"""The topic gate: is a message about the leg press and the lower back at all, before anything is ranked?

A message must name a subject the article covers (a disc, the hamstrings, a belt), or the machine or the back
with something said about it; then the off-topic rules of faq.yaml may still say it is about something else
(a knee, deadlifts, a desk job). The question a message asks weighs more than the story around it: a
question that names the machine is on topic whatever the story says, one about another lift is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.content.model import MatchingConfig

NO_SUBJECT = "no subject"  # the reason for a message that names nothing the article covers
LONG_STORY = "a long story about something else"  # faq.yaml `long_story`: see Matcher.match


@dataclass(frozen=True)
class Gate:
    cfg: MatchingConfig
    markers: frozenset[str]  # concepts that only some off-topic rule uses
    vouching: frozenset[str]  # anchors that can vouch for a message: the machine, not the back
    elsewhere: frozenset[str]  # concepts that only ever mark a message as being about something else
    near_topic: frozenset[str]  # anchors and subjects: off topic, but near enough for the nearest answers
    only_asked: frozenset[str] = frozenset()  # concepts of rules that look only at the question asked
    personal: frozenset[str] = frozenset()  # names of rules about the person, which no question overrides

    @classmethod
    def from_config(cls, cfg: MatchingConfig) -> Gate:
        markers = frozenset(c for rule in cfg.off_topic for c in rule.concepts)
        near_topic = cfg.anchors | cfg.subjects | cfg.weak_subjects
        # an anchor that can itself mark a message off topic (the back: back pain in general) cannot vouch
        # for the story around a question that names it; the other (the leg press) can
        only_asked = frozenset(c for rule in cfg.off_topic if rule.only_asked for c in rule.concepts)
        personal = frozenset(rule.name for rule in cfg.off_topic if rule.about_the_person)
        vouching = cfg.anchors - markers
        return cls(cfg, markers, vouching, markers - near_topic, near_topic, only_asked, personal)

    def reason(self, concepts: frozenset[str], strangers: int = 0) -> str | None:
        """None when the concepts are on topic, else the reason they are not."""
        cfg = self.cfg
        paired = any(concepts & companions for c, companions in cfg.pairs.items() if c in concepts)
        weak = bool(concepts & cfg.weak_subjects) and strangers == 0
        if not concepts & cfg.subjects and not paired and not weak:
            return NO_SUBJECT
        return self.rule_against(concepts)

    def judge(
        self, concepts: frozenset[str], asked: frozenset[str], strangers: int, asks: bool = False
    ) -> str | None:
        """None when a message (its concepts, and those of the question it asks) is on topic."""
        if asks:  # (a question that leads is one that asks)
            # what only a question can make off topic ("can it be cured?"), a story merely mentions, even
            # when its question names nothing itself ("… off painkillers two weeks. what do you think?")
            concepts -= self.only_asked - asked
        reason = self.reason(concepts, strangers)
        # a question that itself names the leg press is on topic whatever the story around it mentions ("my
        # quads are growing… does a belt protect my back on the leg press?"), unless the story says something
        # about the person that the question then asks about ("pregnant 20 weeks, is the leg press safe?"); a
        # weak subject, or a question that names only the back ("I drive for a living, would a belt protect
        # my spine?"), cannot
        personal = reason in self.personal
        if reason and not personal and asked & self.vouching and self.reason(asked, strangers=1) is None:
            return None  # the story mentions something else, but the question itself is on topic
        if not reason and asked & self.elsewhere and not asked & self.companions(concepts):
            # the question itself is about something else ("… should I wear a belt for deadlifts too?"),
            # unless it asks about the machine the story names ("should I do squats instead?"), or the
            # story names what the article covers whatever the lift (a disc, a weak core)
            return self.rule_against(asked | (concepts & self.cfg.subjects))
        return reason

    def companions(self, concepts: frozenset[str]) -> frozenset[str]:
        """The anchors among `concepts` that vouch for a message, and what a question may ask about them."""
        vouching = concepts & self.vouching
        return vouching.union(*(self.cfg.pairs.get(c, ()) for c in vouching))

    def rule_against(self, concepts: frozenset[str]) -> str | None:
        """The first off-topic rule that `concepts` meet."""
        return next((rule.name for rule in self.cfg.off_topic if rule.applies(concepts)), None)
