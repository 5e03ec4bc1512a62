"""The outbox against real databases and the fake Slack (docs/adr/0019): in order per
conversation, once across processes, stale updates collapsed, an update waiting for its
post, Slack's Retry-After honoured and permanent refusals given up at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from slack_sdk import WebClient

from bot.db import Database, utcnow
from bot.idempotency import AlreadyProcessed, claim
from bot.migrations import upgrade
from bot.slack.outbox import Outbox, OutboxMessage
from support.db import Database as ScratchDatabase
from support.fake_slack import DEFAULT_TOKEN, FakeSlack, SlackCall

CHANNEL = "C0OUTBOX"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **parts: float) -> datetime:
        self.now += timedelta(**parts)
        return self.now


@pytest.fixture
def url(make_database) -> str:  # type: ignore[no-untyped-def]
    target: ScratchDatabase = make_database()
    upgrade(target.url)
    return target.url


@pytest.fixture
def clock() -> Clock:
    return Clock()


def client_of(fake_slack: FakeSlack) -> WebClient:
    # No retry handlers: what the outbox itself does about a refusal is under test.
    return WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url)


@pytest.fixture
def outbox(url: str, fake_slack: FakeSlack, clock: Clock) -> Iterator[Outbox]:
    fake_slack.reset()
    database = Database(url)
    yield Outbox(database, client_of(fake_slack), now=clock, holder="one")
    database.dispose()


def posts(fake_slack: FakeSlack, channel: str = CHANNEL) -> list[SlackCall]:
    return [c for c in fake_slack.calls("chat.postMessage") if c.ok and c.get("channel") == channel]


def rows(outbox: Outbox) -> list[OutboxMessage]:
    with outbox.database.transaction() as session:
        found = list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
        session.expunge_all()
        return found


def test_a_waiting_message_holds_back_the_rest_of_its_conversation_only(
    outbox: Outbox, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.fail_next("chat.postMessage", status=503, retry_after=None)
    outbox.post(CHANNEL, "first")
    outbox.post(CHANNEL, "second")
    outbox.post("U0SOMEONE", "a DM")
    assert [c.text for c in posts(fake_slack)] == []
    assert [c.text for c in posts(fake_slack, "U0SOMEONE")] == ["a DM"]

    # Not due yet (backoff): the clock's pass leaves it.
    assert outbox.deliver_due(clock.advance(seconds=1)) == 0
    assert outbox.deliver_due(clock.advance(seconds=30)) == 2
    assert [c.text for c in posts(fake_slack)] == ["first", "second"]
    assert outbox.deliver_due(clock.advance(minutes=10)) == 0
    assert [r.state for r in rows(outbox)] == ["sent", "sent", "sent"]


def test_stale_updates_of_one_message_collapse_to_the_latest(
    outbox: Outbox, fake_slack: FakeSlack, clock: Clock
) -> None:
    outbox.post(CHANNEL, "announcement v1", key="announcement:7")
    ts = posts(fake_slack)[0].response["ts"]
    fake_slack.fail_next("chat.update", status=503, retry_after=None)
    for version in (2, 3, 4):
        outbox.update(CHANNEL, f"announcement v{version}", key="announcement:7", collapse_key="a:7")
    outbox.post(CHANNEL, "a notice after them")
    outbox.deliver_due(clock.advance(minutes=1))

    updates = [c for c in fake_slack.calls("chat.update") if c.ok]
    assert [(c.get("ts"), c.text) for c in updates] == [(ts, "announcement v4")]
    assert [c.text for c in posts(fake_slack)][-1] == "a notice after them"
    assert [r.state for r in rows(outbox)] == ["sent", "collapsed", "collapsed", "sent", "sent"]


def test_an_update_waits_for_its_post_and_a_reposted_message_supersedes_the_old(
    outbox: Outbox, fake_slack: FakeSlack, clock: Clock
) -> None:
    posted: list[tuple[str, str, str]] = []
    outbox.on_posted(
        "announcement:", lambda _s, key, channel, ts: posted.append((key, channel, ts))
    )
    fake_slack.fail_next("chat.postMessage", status=503, retry_after=None)
    outbox.post(CHANNEL, "old", key="announcement:9")
    outbox.update(CHANNEL, "old, updated", key="announcement:9")
    # Announced again before Slack saw either: the old post is never sent.
    outbox.post(CHANNEL, "new", key="announcement:9")
    outbox.update(CHANNEL, "new, updated", key="announcement:9")
    outbox.deliver_due(clock.advance(minutes=1))

    [post] = posts(fake_slack)
    assert post.text == "new"
    [update] = [c for c in fake_slack.calls("chat.update") if c.ok]
    assert (update.get("ts"), update.text) == (post.response["ts"], "new, updated")
    assert posted == [("announcement:9", CHANNEL, post.response["ts"])]


def test_an_update_of_a_message_never_posted_fails_without_holding_the_channel(
    outbox: Outbox, fake_slack: FakeSlack
) -> None:
    outbox.update(CHANNEL, "update", key="announcement:404")
    outbox.post(CHANNEL, "next")
    assert [c.text for c in posts(fake_slack)] == ["next"]
    [update, notice] = rows(outbox)
    assert (update.state, update.error) == ("failed", "the message to update was never posted")
    assert notice.state == "sent"


def test_slacks_retry_after_is_honoured(
    outbox: Outbox, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=120)
    outbox.post(CHANNEL, "rate limited")
    [waiting] = rows(outbox)
    assert waiting.next_attempt_at - clock.now == timedelta(seconds=120)

    assert outbox.deliver_due(clock.advance(seconds=90)) == 0
    assert len(fake_slack.calls("chat.postMessage")) == 1
    assert outbox.deliver_due(clock.advance(seconds=31)) == 1
    assert [c.text for c in posts(fake_slack)] == ["rate limited"]


def test_a_permanent_refusal_is_marked_failed_and_never_retried(
    outbox: Outbox, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.fail_next("chat.postMessage", status=200, error="channel_not_found")
    outbox.post(CHANNEL, "to nowhere")
    outbox.post(CHANNEL, "next")
    for _ in range(5):
        outbox.deliver_due(clock.advance(minutes=10))
    attempts = [c for c in fake_slack.calls("chat.postMessage") if c.text == "to nowhere"]
    assert len(attempts) == 1
    [failed] = outbox.failed()
    assert (failed.text, failed.error) == ("to nowhere", "channel_not_found")
    assert [c.text for c in posts(fake_slack)] == ["next"]


def test_what_is_stored_fits_slacks_limits(outbox: Outbox, fake_slack: FakeSlack) -> None:
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 500}}
    outbox.post(CHANNEL, "x" * 50_000, blocks=[header])
    [row] = rows(outbox)
    assert len(row.text) <= 40_000
    assert row.blocks is not None and len(row.blocks) < 500
    assert row.state == "sent"


def test_sent_rows_are_pruned_after_a_week_failed_ones_after_a_month(
    outbox: Outbox, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.fail_next("chat.postMessage", status=200, error="channel_not_found")
    outbox.post(CHANNEL, "refused")
    outbox.post(CHANNEL, "sent")
    fake_slack.fail_next("chat.postMessage", status=503, retry_after=None)
    outbox.post(CHANNEL, "waiting")
    assert outbox.prune(clock.now + timedelta(days=6)) == 0
    assert outbox.prune(clock.now + timedelta(days=8)) == 1
    assert [r.text for r in rows(outbox)] == ["refused", "waiting"]
    assert outbox.prune(clock.now + timedelta(days=31)) == 1
    assert [r.text for r in rows(outbox)] == ["waiting"]


def test_two_deliverers_at_once_send_every_message_once_and_in_order(
    url: str, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.reset()
    databases = [Database(url), Database(url)]
    try:
        recorder, other = (
            Outbox(db, client_of(fake_slack), now=clock, holder=name)
            for db, name in zip(databases, ("one", "two"), strict=True)
        )
        # Recorded while Slack was away (nothing sent yet), then both processes try.
        for conversation in (CHANNEL, "C0SECOND"):
            for n in range(15):
                recorder.post(conversation, f"{conversation} {n}", send_now=False)
        fake_slack.set_delay("chat.postMessage", 0.02)
        clock.advance(seconds=1)
        start = threading.Barrier(4)

        def run(outbox: Outbox) -> None:
            start.wait()
            outbox.deliver_due()

        threads = [threading.Thread(target=run, args=(o,)) for o in (recorder, other) * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        fake_slack.set_delay("chat.postMessage", 0)
        for conversation in (CHANNEL, "C0SECOND"):
            sent = [c.text for c in posts(fake_slack, conversation)]
            assert sent == [f"{conversation} {n}" for n in range(15)]
        assert {r.state for r in rows(recorder)} == {"sent"}
    finally:
        for database in databases:
            database.dispose()


def test_a_message_recorded_with_a_change_is_sent_at_its_commit_not_at_a_savepoints(
    outbox: Outbox, fake_slack: FakeSlack, clock: Clock
) -> None:
    # SQLAlchemy dispatches after_commit when a savepoint is released too: the outbox used
    # to deliver then, before the real commit (nothing another connection could see, or
    # this transaction's write lock to wait on), and the real commit sent nothing.
    with outbox.database.transaction() as session:
        outbox.post(CHANNEL, "before the savepoint", session=session)
        with session.begin_nested():
            outbox.post(CHANNEL, "in the savepoint", session=session)
        assert posts(fake_slack) == []
    # Sent by the commit itself, not left for the clock.
    sent = ["before the savepoint", "in the savepoint"]
    assert [c.text for c in posts(fake_slack)] == sent
    assert outbox.deliver_due(clock.advance(minutes=10)) == 0
    assert [c.text for c in posts(fake_slack)] == sent
    assert [r.state for r in rows(outbox)] == ["sent", "sent"]


def test_a_savepoint_rolled_back_keeps_what_the_transaction_recorded_outside_it(
    outbox: Outbox, fake_slack: FakeSlack, clock: Clock
) -> None:
    with outbox.database.transaction() as session:
        outbox.post(CHANNEL, "kept", session=session)
        savepoint = session.begin_nested()
        outbox.post(CHANNEL, "rolled back", session=session)
        savepoint.rollback()
        assert posts(fake_slack) == []
    assert [c.text for c in posts(fake_slack)] == ["kept"]
    assert outbox.deliver_due(clock.advance(minutes=10)) == 0
    assert [(r.text, r.state) for r in rows(outbox)] == [("kept", "sent")]


def test_an_insert_race_lost_in_a_savepoint_keeps_what_the_transaction_recorded(
    outbox: Outbox, fake_slack: FakeSlack
) -> None:
    # The flows' savepoint idiom (bot.idempotency.claim, the gate's and freeze's upserts):
    # the failed flush inside it is a rollback SQLAlchemy tells after_soft_rollback of.
    with outbox.database.transaction() as session:
        claim(session, "taken")
    with outbox.database.transaction() as session:
        outbox.post(CHANNEL, "recorded before the race", session=session)
        with pytest.raises(AlreadyProcessed):
            claim(session, "taken")
    assert [c.text for c in posts(fake_slack)] == ["recorded before the race"]


def test_posted_to_names_the_conversation_of_the_latest_post_under_a_key(
    outbox: Outbox, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", status=200, error="channel_not_found")
    outbox.post("C0REFUSED", "refused for good", key="announcement:5")
    with outbox.database.transaction() as session:
        # Nothing posted under the key, and a post Slack refused for good, are no post.
        assert outbox.posted_to("announcement:4", session=session) is None
        assert outbox.posted_to("announcement:5", session=session) is None
    outbox.post(CHANNEL, "sent", key="announcement:5")
    fake_slack.fail_next("chat.postMessage", status=503, retry_after=None)
    outbox.post("C0LATER", "still waiting", key="announcement:5")
    with outbox.database.transaction() as session:
        assert outbox.posted_to("announcement:5", session=session) == "C0LATER"
        # A post recorded in the caller's own transaction counts.
        outbox.post("C0SAME", "uncommitted", key="announcement:6", session=session)
        assert outbox.posted_to("announcement:6", session=session) == "C0SAME"
