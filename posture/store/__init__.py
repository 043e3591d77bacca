"""Patient records: patients, visits, the photos as uploaded, and every analysis.

    from posture.store import open_store, save_visit, list_visits, load_visit
    store = open_store()            # $POSTURE_DATABASE_URL, else SQLite in the user data folder
    visit_id = save_visit(store, "P-0042", assessment, {"front": front_bytes, "side": side_bytes})

Nothing here imports Streamlit. See `posture.store.models` for the schema and
`posture.store.repository` for what each function guarantees.
"""

from posture.store.audit import AUDIT_COLUMNS, Actor, AuditLine, audit_csv, audit_lines, log
from posture.store.db import ENV_VAR, Store, database_url, open_store
from posture.store.errors import DamagedError, NotFoundError, StoreError
from posture.store.repository import (
    HISTORY_COLUMNS,
    AnalysisSummary,
    PatientSummary,
    VisitSummary,
    add_analysis,
    delete_patient,
    delete_visit,
    get_patient,
    history_csv,
    history_rows,
    list_analyses,
    list_patients,
    list_visits,
    load_analysis_json,
    load_visit,
    reanalyse_visit,
    save_visit,
    update_patient,
    visit_csv,
    visit_photos,
    visit_rows,
)

__all__ = [
    "AUDIT_COLUMNS", "Actor", "AuditLine", "audit_csv", "audit_lines", "log",
    "DamagedError", "ENV_VAR", "HISTORY_COLUMNS", "AnalysisSummary", "NotFoundError",
    "PatientSummary", "Store", "StoreError", "VisitSummary", "add_analysis", "database_url",
    "delete_patient", "delete_visit", "get_patient", "history_csv", "history_rows",
    "list_analyses", "list_patients", "list_visits", "load_analysis_json", "load_visit",
    "open_store", "reanalyse_visit", "save_visit", "update_patient", "visit_csv",
    "visit_photos", "visit_rows",
]
