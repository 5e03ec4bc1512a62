"""Create the booking, audit_log and processed_request tables.

- booking: one row per booked deploy slot. Two active bookings (scheduled, awaiting
  approval, approved, deploying) of the same app may never overlap. The database enforces
  that, not only the Python code, so that two requests racing each other cannot both win:
  on PostgreSQL with an exclusion constraint over the time range (btree_gist), on SQLite
  with triggers that abort an overlapping insert or update (SQLite serialises writers,
  so the trigger's check and the write are atomic).
- audit_log: who changed what, when, with before/after snapshots.
- processed_request: idempotency keys of Slack requests already handled.

First migration: nothing older to stay compatible with.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model's value lists: a migration must keep describing the schema
# as it was when written, even after the Python enums change.
KINDS = "'es_mapping', 'migration', 'other'"
STATUSES = (
    "'approved', 'awaiting_approval', 'cancelled', 'deploying', 'expired', 'failed', "
    "'landed', 'rolled_back', 'scheduled'"
)
ACTIVE = "'approved', 'awaiting_approval', 'deploying', 'scheduled'"

# Built from the constant lists above, never from input.
SQLITE_OVERLAP_CHECK = f"""
    WHEN NEW.status IN ({ACTIVE})
    BEGIN
        SELECT RAISE(ABORT, 'booking_overlap')
        WHERE EXISTS (
            SELECT 1 FROM booking AS other
            WHERE other.app = NEW.app
              AND other.id != NEW.id
              AND other.status IN ({ACTIVE})
              AND other.starts_at < NEW.ends_at
              AND NEW.starts_at < other.ends_at
        );
    END
"""  # noqa: S608


def upgrade() -> None:
    op.create_table(
        "booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("short_id", sa.String(length=12), nullable=False),
        sa.Column("app", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("pull_requests", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requester_id", sa.String(length=32), nullable=False),
        sa.Column("rollback_plan", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("origin_channel_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_booking_ends_after_start")),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f("ck_booking_kind")),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_booking_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking")),
        sa.UniqueConstraint("short_id", name=op.f("uq_booking_short_id")),
    )
    op.create_index("ix_booking_app_starts_at", "booking", ["app", "starts_at"])
    op.create_index("ix_booking_status_starts_at", "booking", ["status", "starts_at"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE booking ADD CONSTRAINT ex_booking_no_overlap EXCLUDE USING gist "
            "(app WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            f"WHERE (status IN ({ACTIVE}))"
        )
    elif op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"CREATE TRIGGER booking_no_overlap_insert BEFORE INSERT ON booking "
            f"{SQLITE_OVERLAP_CHECK}"
        )
        op.execute(
            "CREATE TRIGGER booking_no_overlap_update "
            "BEFORE UPDATE OF app, starts_at, ends_at, status ON booking "
            f"{SQLITE_OVERLAP_CHECK}"
        )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_entity", "audit_log", ["entity_type", "entity_id", "occurred_at"])
    op.create_index(op.f("ix_audit_log_occurred_at"), "audit_log", ["occurred_at"])

    op.create_table(
        "processed_request",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_processed_request")),
    )
    op.create_index(
        op.f("ix_processed_request_processed_at"), "processed_request", ["processed_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_processed_request_processed_at"), table_name="processed_request")
    op.drop_table("processed_request")
    op.drop_index(op.f("ix_audit_log_occurred_at"), table_name="audit_log")
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_table("audit_log")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS booking_no_overlap_update")
        op.execute("DROP TRIGGER IF EXISTS booking_no_overlap_insert")
    # The exclusion constraint goes with the table; btree_gist is left installed because
    # other schemas in the same database may use it.
    op.drop_index("ix_booking_status_starts_at", table_name="booking")
    op.drop_index("ix_booking_app_starts_at", table_name="booking")
    op.drop_table("booking")
