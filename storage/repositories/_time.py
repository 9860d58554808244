from datetime import UTC, datetime


def utcnow() -> datetime:
    """Default for the few writes whose callers need not pass a time (setup, admin actions)."""
    return datetime.now(UTC)
