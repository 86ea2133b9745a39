"""What happened in a conversation, as the core saw it: small typed facts for the question log and admins.

The core returns these with its replies; the doors hand them to the question log unchanged. Nothing here
names a person: who it was is the door's to add, as a salted hash, when it stores them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckStarted:
    """A guided check began (from /check, a button, or a deep link)."""


@dataclass(frozen=True)
class CheckFinished:
    """The last question was answered; `top_cause` is the cause that came out first, None when none did."""

    top_cause: str | None


@dataclass(frozen=True)
class CheckCancelled:
    """The person stopped the check."""


@dataclass(frozen=True)
class CheckExpired:
    """The check closed after 30 minutes without an answer."""


@dataclass(frozen=True)
class RedFlagRaised:
    """A warning sign: in a message, or as an answer on the check's safety screen (`in_check`)."""

    sign: str
    in_check: bool


@dataclass(frozen=True)
class Voted:
    """👍 or 👎 on an answer."""

    entry_id: str
    positive: bool


@dataclass(frozen=True)
class SaidWhatWasMissing:
    """The person answered "what were you looking for?" after a 👎."""

    entry_id: str


@dataclass(frozen=True)
class Forgotten:
    """The person confirmed /forget: the door deletes everything kept about them, then sends the reply."""


Event = (
    CheckStarted
    | CheckFinished
    | CheckCancelled
    | CheckExpired
    | RedFlagRaised
    | Voted
    | SaidWhatWasMissing
    | Forgotten
)
CheckEvent = CheckStarted | CheckFinished | CheckCancelled | CheckExpired | RedFlagRaised
