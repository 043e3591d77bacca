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


class OrientationError(PostureError, ValueError):
    """The body lies on its side or stands upside down in the photo (a photo turned by 90 or
    180 deg, or a wrong EXIF orientation): every tilt would be read against the wrong axis."""


class WriteError(PostureError, OSError):
    """A result file could not be written (disk full, no permission); what was written before
    is kept whole."""
