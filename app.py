"""Streamlit entry point: `streamlit run app.py`. The app lives in `posture/app/`."""

from posture.app.main import run

run()
