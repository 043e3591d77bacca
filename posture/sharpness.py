"""How much detail a photo holds: its effective blur, in pixels.

Gradient magnitudes at edges fall as 1/sigma for an edge blurred by a Gaussian of SD sigma. Blur
the image by a known extra sigma_e and compare its strongest gradients: the ratio r equals
sigma / sqrt(sigma^2 + sigma_e^2), so sigma = sigma_e * r / sqrt(1 - r^2). Robust to contrast
(a ratio) and to content (the strongest edges, 99.5th percentile). A sharp, well-focused photo
reads about 0.8-1.5 px (demosaicing, resampling); motion blur or a soft focus reads more.
"""

from __future__ import annotations

import cv2
import numpy as np

_EXTRA_SIGMA = 2.0
_PERCENTILE = 99.5
# Equivalent width of a Gaussian blur: its full width at half maximum, 2 sqrt(2 ln 2) sigma.
FWHM_PER_SIGMA = 2.3548


def _gradient(gray: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy)


def _percentile(values: np.ndarray, q: float) -> float:
    """np.percentile(values, q) (linear interpolation), by a partition at the two ranks it
    needs: half the time of np.percentile, which also scans for NaN (there are none here)."""
    flat = values.ravel()
    rank = q / 100.0 * (flat.size - 1)
    lo = int(np.floor(rank))
    hi = min(lo + 1, flat.size - 1)
    part = np.partition(flat, (lo, hi))
    return float(part[lo] + (rank - lo) * (part[hi] - part[lo]))


def blur_sigma(rgb: np.ndarray) -> float:
    """Effective Gaussian blur SD of an RGB image, in its own pixels (>= 0)."""
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)
    sharp = _percentile(_gradient(gray), _PERCENTILE)
    if sharp <= 0:
        return float("inf")  # a flat image: no detail at all
    soft = _percentile(_gradient(cv2.GaussianBlur(gray, (0, 0), _EXTRA_SIGMA)), _PERCENTILE)
    r = min(soft / sharp, 0.999)
    return _EXTRA_SIGMA * r / np.sqrt(1.0 - r * r)


def resolution_floor(rgb: np.ndarray, detector_pixel: float = 0.0) -> float:
    """SD (pixels of rgb) of the extra error a point's location has because detail is missing.

    One resolution element is the blur's FWHM, or one pixel if sharper. A detector that looks at
    the image through coarser pixels of its own (`detector_pixel`, in pixels of rgb) loses that
    detail anyway, and its noise shows in the spread of repeated detections; only the part of
    the element beyond it adds error: sqrt(element^2 - detector_pixel^2), spread uniformly, so
    SD = that / sqrt(12).
    """
    element = max(1.0, FWHM_PER_SIGMA * blur_sigma(rgb))
    return float(np.sqrt(max(0.0, element**2 - detector_pixel**2)) / np.sqrt(12.0))
