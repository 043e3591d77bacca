"""The Streamlit app's navigation: `streamlit run posture/app/main.py`, or `posture app`.

posture/app/ is the only part of `posture` that imports Streamlit; its pages wire widgets to
library calls and show results. The intake's state (fields, photos, analysis, hand-placed
landmarks) lasts for the browser session across pages; a reload or closing the tab loses it,
so the browser asks first while there is unsaved work.
"""

import streamlit as st

from posture.app import compare, intake, records, signin
from posture.app.serve import preload
from posture.app.widgets import plain

# Asks before a reload or closing the tab while the intake holds unsaved work. Browsers show
# their own wording, and only after the user has interacted with the page.
_WARN_ON_LEAVE = """<script>
window.onbeforeunload = %s;
</script>"""
_ASK = "function (event) { event.preventDefault(); event.returnValue = ''; return ''; }"

# Phones and tablets: tighter table cells, text wrapped between words (never inside a
# number); narrower still, tables turn into cards (posture.app.widgets.fitted_table).
# (!important: Streamlit's own rules on the cells' Markdown are more specific.)
NARROW_SCREEN_CSS = """<style>
@media (max-width: 900px) {
  [data-testid="stTable"] th, [data-testid="stTable"] td {
    padding: 0.3rem 0.25rem !important; font-size: 0.8rem; }
  [data-testid="stTable"] th, [data-testid="stTable"] td,
  [data-testid="stTable"] th *, [data-testid="stTable"] td * { white-space: normal !important; }
}
</style>"""


def leave_guard(unsaved: str | None) -> None:
    """Set or clear the browser's before-unload question (a script in the page)."""
    st.html(_WARN_ON_LEAVE % (_ASK if unsaved else "null"), unsafe_allow_javascript=True)


def run() -> None:
    preload()  # `posture app` started it with the server; `streamlit run` on the first page
    st.set_page_config(page_title="Posture screening", page_icon=":material/accessibility_new:",
                       layout="wide")
    if not signin.gate():       # beyond localhost: only the sign-in form until signed in
        return
    intake_page = st.Page(intake.show, title="Intake", icon=":material/photo_camera:",
                          url_path="intake", default=True)
    pages = [
        intake_page,
        st.Page(records.show, title="Records", icon=":material/folder_shared:",
                url_path="records"),
        st.Page(compare.show, title="Compare visits", icon=":material/compare_arrows:",
                url_path="compare"),
    ]
    page = st.navigation(pages)
    st.html(NARROW_SCREEN_CSS)
    if page.url_path != intake_page.url_path:
        unsaved = st.session_state.get(intake.UNSAVED)
        if unsaved:
            st.warning(plain(unsaved) + " Go back to Intake to save it; closing or reloading "
                       "the tab loses it.", icon=":material/pending_actions:")
            st.page_link(intake_page, label="Back to Intake", icon=":material/arrow_back:")
    page.run()
    leave_guard(st.session_state.get(intake.UNSAVED))


if __name__ == "__main__":  # Streamlit runs this file as __main__ on every rerun
    run()
