"""legpress-bot: answers questions about lower-back pain on the leg press."""

__version__ = "0.1.0"
