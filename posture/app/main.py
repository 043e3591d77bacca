"""The Streamlit app's navigation: `streamlit run posture/app/main.py`, or `posture app`.

posture/app/ is the only part of `posture` that imports Streamlit; its pages wire widgets to
library calls and show results.
"""

import streamlit as st

from posture.app import compare, intake, records, signin
from posture.app.serve import preload


def run() -> None:
    preload()  # `posture app` started it with the server; `streamlit run` on the first page
    st.set_page_config(page_title="Posture screening", page_icon=":material/accessibility_new:",
                       layout="wide")
    if not signin.gate():       # beyond localhost: only the sign-in form until signed in
        return
    pages = [
        st.Page(intake.show, title="Intake", icon=":material/photo_camera:", url_path="intake",
                default=True),
        st.Page(records.show, title="Records", icon=":material/folder_shared:",
                url_path="records"),
        st.Page(compare.show, title="Compare visits", icon=":material/compare_arrows:",
                url_path="compare"),
    ]
    st.navigation(pages).run()


if __name__ == "__main__":  # Streamlit runs this file as __main__ on every rerun
    run()
