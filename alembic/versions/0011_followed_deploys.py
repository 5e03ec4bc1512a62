"""Create merged_pull, heroku_release and deploy_alert: deploys followed from GitHub and
Heroku events (issue 14).

- merged_pull: a pull request merged into the production branch (who merged it, the
  merge commit, the deploying booking that named it), so a Heroku release can be matched
  to the bookings whose merges it contains, whichever webhook came first.
- heroku_release: a release of a production app, kept until it has been matched (the
  clock retries while GitHub is down or the merge webhook is late).
- deploy_alert: a tricky change merged or released without an approved, started booking,
  shown in the App Home until someone acknowledges it.

New tables only: code of the previous release ignores them, and the downgrade drops them
(what they recorded is lost; bookings are not touched).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
# The integrator re-chains this after 0010 (another branch's migration).
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "merged_pull",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo", sa.String(length=140), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("merge_sha", sa.String(length=64), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("merged_by", sa.String(length=100), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("booking_short_id", sa.String(length=12), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merged_pull")),
        sa.UniqueConstraint("repo", "number", name="uq_merged_pull_repo_number"),
    )
    op.create_table(
        "heroku_release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("heroku_app", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("heroku_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=True),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("deployed_by", sa.String(length=200), nullable=False),
        sa.Column("output_url", sa.String(length=500), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("notes_ts", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heroku_release")),
        sa.UniqueConstraint("heroku_app", "version", name="uq_heroku_release_app_version"),
    )
    op.create_index("ix_heroku_release_due", "heroku_release", ["due"])
    op.create_table(
        "deploy_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deploy_alert")),
        sa.UniqueConstraint("subject", name="uq_deploy_alert_subject"),
    )


def downgrade() -> None:
    op.drop_table("deploy_alert")
    op.drop_index("ix_heroku_release_due", table_name="heroku_release")
    op.drop_table("heroku_release")
    op.drop_table("merged_pull")
