"""Streamlit pages of the posture app. Nothing here computes a measure: it calls `posture`."""
