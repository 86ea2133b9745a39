"""The bot's own sentences and menus, beside the article's: one place to read and reword them."""

from __future__ import annotations

KIND_TITLES = {"cause": "Common causes", "fix": "Fixes", "faq": "Frequently asked questions"}
KIND_COMMANDS = {"causes": "cause", "fixes": "fix", "faq": "faq"}
LIST_PROMPTS = {
    "cause": "Five common reasons the leg press hurts the lower back. Pick one to read it and see its fixes.",
    "fix": "Six ways to take the strain off your lower back. Pick one for the details.",
    "faq": "The questions people ask most. Pick one for the answer.",
}
COMMAND_MENU: tuple[tuple[str, str], ...] = (
    ("causes", "Why the leg press can hurt your lower back"),
    ("fixes", "What to do about it"),
    ("faq", "Frequently asked questions"),
    ("check", "A short check: which causes fit you"),
    ("help", "How to use this bot"),
    ("about", "Source and disclaimer"),
    ("cancel", "Stop the current check"),
    ("forget", "Delete everything I keep about you"),
)
FEEDBACK_THANKS = "Thanks for the feedback!"
FEEDBACK_ASK = "feedback-ask"  # the tag of the reply that asks what was missing; adapters may answer it
FEEDBACK_ASK_TEXT = (
    "Sorry that didn't help. What were you looking for? "
    "Reply to this message and I'll pass it on to the people who run me."
)
FEEDBACK_NOTED = "Thank you! I've passed that on."
HELP_ON_TELEGRAM = "In a group, mention me or reply to my message, or use the commands."
FORGET_ASK = (
    "This deletes everything I keep about you: your open check, the questions you asked me and your "
    "feedback. It cannot be undone. Delete it?"
)
FORGET_IN_PRIVATE = "What I keep about you is deleted in a private chat with me, so that only you can do it."
FORGOTTEN = (
    "Done: I've deleted everything I kept about you (your checks, your questions and your feedback). "
    "If you write to me again, I start afresh."
)
FORGET_KEPT = "Nothing was deleted."
