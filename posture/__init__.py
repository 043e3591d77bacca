"""posture: posture screening from a front and a side photo.

    from posture import analyze, AnalysisOptions
    result = analyze(front="front.jpg", side="side.jpg", options=AnalysisOptions(height_cm=172))
    result.rows()   # the tidy table: one row per metric (see posture.assessment.TABLE_COLUMNS)

Importing posture loads no model: the pose model loads on the first analysis.
"""

__version__ = "0.1.0"

from posture.assessment import AnalysisOptions, Assessment, analyze  # noqa: E402

__all__ = ["AnalysisOptions", "Assessment", "analyze", "__version__"]
