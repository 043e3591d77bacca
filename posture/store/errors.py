"""Errors of the records store: one line each, written for the clinician."""

from posture.errors import PostureError


class StoreError(PostureError, RuntimeError):
    """The records database cannot be opened or written (unreachable, locked, newer schema)."""


class NotFoundError(PostureError, LookupError):
    """No such patient, visit or analysis in the records."""
