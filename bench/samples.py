"""What the benchmarks' simulated people say: a few common questions asked again and again, and commands.

Plain data, no imports from `bot`: the benchmarks that drive the bot as a process stay independent of how
the package is laid out.
"""

from __future__ import annotations

# the common questions, asked in the same words by many people (the bot remembers recent readings)
QUESTIONS = (
    "why does my back hurt after leg press?",
    "do I need a belt for the leg press?",
    "my lumbar is cooked after the sled",
    "how often should I stretch my hamstrings?",
    "where should my feet go on the platform",
    "what can I do instead of the leg press",
    "is it my core? my abs are weak",
    "what's the weather like tomorrow",
)

# less common phrasings: each is read afresh the first time it is seen
MORE_QUESTIONS = (
    "lower back pain the day after leg day, what am I doing wrong",
    "my butt lifts off the seat at the bottom of the leg press",
    "should I go lighter on the leg press if my back is sore",
    "is a herniated disc a reason to stop leg pressing",
    "how deep should I go on the leg press",
    "does foot placement matter for back pain on the sled",
    "tight hammies and a rounded lower back, is that related",
    "sharp pain down my leg after pressing, should I worry",
    "can weak glutes cause back pain on the leg press",
    "how long should I rest my back before training legs again",
    "which stretches help my lower back after the leg press machine",
    "what is spinal stenosis",
)

# commands; /start and /help answer with the welcome and the menu, /about with the source
COMMANDS = ("/causes", "/fixes", "/faq", "/help", "/start", "/about")
