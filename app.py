"""Streamlit entry point: `streamlit run app.py`. Pages live in `ui/`; the work in `posture`."""

import streamlit as st

from ui import compare, intake, records

st.set_page_config(page_title="Posture screening", page_icon=":material/accessibility_new:",
                   layout="wide")

# One entry per page; add new pages (records, comparison) here.
PAGES = [
    st.Page(intake.show, title="Intake", icon=":material/photo_camera:", url_path="intake",
            default=True),
    st.Page(records.show, title="Records", icon=":material/folder_shared:", url_path="records"),
    st.Page(compare.show, title="Compare visits", icon=":material/compare_arrows:",
            url_path="compare"),
]

st.navigation(PAGES).run()
