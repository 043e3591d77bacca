"""The records schema: patients, their visits, the photos as uploaded, and every analysis.

    Patient 1--* Visit 1--* Photo            (original bytes + sha256: the clinical record)
                       1--* Analysis 1--* Measurement      (the core's tidy rows, verbatim)
                                     1--* AnnotatedImage   (render_png output, no metadata)

A visit can hold several analyses (re-analysed with a newer `posture` version, say); each keeps
the numbers and the version that made them, and the latest is shown by default. Deleting a
patient or visit cascades in the database (ON DELETE CASCADE) as well as in the ORM.

Beside the records (revision 0002): sign-in accounts (User 1--* UserSession), the sign-in
attempts that throttle wrong passwords, and the audit log. The audit log holds no foreign keys:
its lines outlive the users, visits and patients they name (see `posture.store.audit`).

Migrations in `posture/store/migrations/` create exactly this schema; a test compares the two.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Deterministic constraint names: migrations can then name (and later drop) them on any backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The clinic's patient ID ("subject" in CSV files and on the command line).
    subject: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[str] = mapped_column(String(40))   # ISO 8601, UTC

    visits: Mapped[list[Visit]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", passive_deletes=True,
        order_by=lambda: [Visit.visit_date, Visit.id])


class Visit(Base):
    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    visit_date: Mapped[date] = mapped_column(Date)
    height_cm: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[str] = mapped_column(String(40))   # ISO 8601, UTC

    patient: Mapped[Patient] = relationship(back_populates="visits")
    photos: Mapped[list[Photo]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Photo.slot")
    analyses: Mapped[list[Analysis]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", passive_deletes=True,
        order_by=lambda: [Analysis.analysed_at, Analysis.id])


class Photo(Base):
    """A photo exactly as uploaded (EXIF and all: it is the clinical record; never exported)."""

    __tablename__ = "photos"
    __table_args__ = (UniqueConstraint("visit_id", "slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Indexed by the unique (visit_id, slot) constraint: no separate index.
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    slot: Mapped[str] = mapped_column(String(10))          # a SLOT ("side": filed before them)
    filename: Mapped[str] = mapped_column(String(255), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    visit: Mapped[Visit] = relationship(back_populates="photos")


class Analysis(Base):
    """One run of `posture.analyze` on a visit's photos."""

    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    posture_version: Mapped[str] = mapped_column(String(40))
    analysed_at: Mapped[str] = mapped_column(String(40))  # the core's ISO 8601 text, verbatim
    #: `posture.export.assessment_json`: options, findings, landmarks in photo pixels, rows.
    result_json: Mapped[str] = mapped_column(Text)

    visit: Mapped[Visit] = relationship(back_populates="analyses")
    measurements: Mapped[list[Measurement]] = relationship(
        back_populates="analysis", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Measurement.position")
    images: Mapped[list[AnnotatedImage]] = relationship(
        back_populates="analysis", cascade="all, delete-orphan", passive_deletes=True,
        order_by="AnnotatedImage.slot")


class Measurement(Base):
    """One tidy row of `Assessment.rows()`; subject, analysed_at and posture_version live on the
    patient and the analysis."""

    __tablename__ = "measurements"
    __table_args__ = (UniqueConstraint("analysis_id", "slot", "metric"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)         # order in the core's table
    # front, back, left, right, or a combination ("left-right"); "side" in rows stored before
    # the four slots (migration 0003).
    slot: Mapped[str] = mapped_column(String(12), server_default="")
    view: Mapped[str] = mapped_column(String(20))
    metric: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(200))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(10))
    uncertainty: Mapped[float | None] = mapped_column(Float)
    side: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    flag: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    raw_value: Mapped[float | None] = mapped_column(Float)
    corrected: Mapped[bool] = mapped_column(Boolean)
    manual: Mapped[bool] = mapped_column(Boolean)
    image: Mapped[str] = mapped_column(String(255))
    passes: Mapped[int] = mapped_column(Integer)

    analysis: Mapped[Analysis] = relationship(back_populates="measurements")


class AnnotatedImage(Base):
    """The annotated photo of one analysis (`posture.render.render_png`: PNG, no metadata)."""

    __tablename__ = "annotated_images"
    __table_args__ = (UniqueConstraint("analysis_id", "slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"))
    slot: Mapped[str] = mapped_column(String(10))
    png: Mapped[bytes] = mapped_column(LargeBinary)

    analysis: Mapped[Analysis] = relationship(back_populates="images")


class User(Base):
    """A sign-in account (`posture users add`). Never deleted, only disabled, so that the audit
    log's names keep meaning one person."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    #: argon2id, in the PHC string form (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
    password_hash: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean)
    disabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[str] = mapped_column(String(40))   # ISO 8601, UTC
    password_changed_at: Mapped[str] = mapped_column(String(40))

    sessions: Mapped[list[UserSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True)


class UserSession(Base):
    """A signed-in browser session. Only the SHA-256 of its token is stored: a copy of the
    database does not let anyone take over a session."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client: Mapped[str] = mapped_column(String(100))
    created: Mapped[float] = mapped_column(Float)         # seconds since the epoch (UTC)
    last_seen: Mapped[float] = mapped_column(Float)

    user: Mapped[User] = relationship(back_populates="sessions")


class SignInAttempt(Base):
    """One sign-in attempt: the record that slows repeated wrong passwords, per account and per
    client, across every workstation and process using the same records."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[float] = mapped_column(Float, index=True)   # seconds since the epoch (UTC)
    name: Mapped[str] = mapped_column(String(100), index=True)   # as typed
    client: Mapped[str] = mapped_column(String(100), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)


class AuditEntry(Base):
    """One line of the audit log: who did what, when, to which patient and visit."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(40))            # ISO 8601, UTC
    user: Mapped[str] = mapped_column(String(100))
    client: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    #: The clinic's patient ID, or None for actions on no patient (sign-in, accounts).
    subject: Mapped[str | None] = mapped_column(String(100), index=True)
    #: No foreign key: the line stays when the visit is deleted.
    visit_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[str] = mapped_column(String(500))


#: Columns of a measurement row copied verbatim from (and back to) the core's tidy rows.
ROW_FIELDS = ("slot", "view", "metric", "label", "value", "unit", "uncertainty", "side", "status",
              "flag", "reference", "detail", "raw_value", "corrected", "manual", "image",
              "passes")
