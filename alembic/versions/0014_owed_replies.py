"""Remember what a claimed request did and whether its reply went out (ADR 0018, amendment).

Two nullable columns on processed_request:
- `result`: what the work did, in a few characters (a booking's short id, a freeze's
  id), written in the same transaction as the work and its claim;
- `answered_at`: when the reply to the person went out (after it did).

A request done again after a crash (its work committed, its process killed before the
reply reached Slack) finds its key taken, and answers from `result` when `answered_at`
is still empty.

Safe for the previous release: it neither reads nor writes the new columns, and its rows
(no `result`) are never answered again by this one. The downgrade drops the columns: a
reply still owed then stays unanswered, as it did before.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, nullable: no table rebuild on SQLite, no rewrite on PostgreSQL.
    op.add_column("processed_request", sa.Column("result", sa.String(length=200), nullable=True))
    op.add_column(
        "processed_request", sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35).
    op.drop_column("processed_request", "answered_at")
    op.drop_column("processed_request", "result")
