"""Errors of the records store: one line each, written for the clinician."""

from posture.errors import PostureError


class StoreError(PostureError, RuntimeError):
    """The records database cannot be opened or written (unreachable, locked, newer schema)."""


class NotFoundError(PostureError, LookupError):
    """No such patient, visit or analysis in the records."""


class DamagedError(StoreError):
    """Part of the records no longer reads back as saved (a photo whose bytes do not match
    their SHA-256, a damaged file). The message names what is damaged."""
