"""Errors a clinician can act on.

Expected failures of a measurement (a landmark not visible) are values with a status, not
exceptions. These errors are for input that cannot be analysed at all. Each subclasses a builtin
category too, so callers may catch either (the pattern of pint's errors).
"""


class PostureError(Exception):
    """Base class: the message is one line, written for the clinician."""


class ImageError(PostureError, ValueError):
    """The file is not an image this tool can read (corrupt, truncated, too large, empty)."""


class NoPersonError(PostureError, ValueError):
    """No person was found in the photo."""


class InputError(PostureError, ValueError):
    """Bad usage: a missing file, a malformed manifest or option."""
