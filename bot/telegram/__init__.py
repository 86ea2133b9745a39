"""The Telegram door: application, handlers, keyboards, persistence and logging."""
