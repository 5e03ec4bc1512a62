"""Status wishes (bot/github/statuses.py) against the database: a wish rewritten on a row
the transaction loaded before another process marked it synced must still be posted.

Both tables of wishes share the columns; the freeze's is used here. The `bot` fixture
provides a migrated, emptied database of the backend."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.freeze.model import PullRequestStatus
from support.inprocess import InProcessBot

REPO = "mozilla/foundation.mozilla.org"


def _stored(engine: Engine, row_id: int) -> tuple[str, bool]:
    with Session(engine) as session:
        row = session.get(PullRequestStatus, row_id)
        assert row is not None
        return row.state, row.synced


def test_a_new_wish_on_a_row_synced_since_it_was_loaded_is_left_to_post(
    bot: InProcessBot, db_engine: Engine
) -> None:
    with Session(db_engine) as session:
        row = PullRequestStatus(
            repo=REPO,
            number=7,
            head_sha="a" * 40,
            state="failure",
            description="master is frozen",
            synced=False,
            attempts=0,
        )
        session.add(row)
        session.commit()
        row_id = row.id

    with Session(db_engine) as slow:
        stale = slow.get(PullRequestStatus, row_id)  # loaded unsynced
        assert stale is not None and stale.synced is False
        # Meanwhile a sync elsewhere posts the old wish and marks it synced.
        with db_engine.begin() as other:
            other.execute(
                sa.update(PullRequestStatus)
                .where(PullRequestStatus.id == row_id)
                .values(synced=True)
            )
        stale.rewish("success", "master is not frozen")
        slow.commit()

    # The new wish is unsynced in the database, so a sync (or the clock) posts it.
    assert _stored(db_engine, row_id) == ("success", False)
