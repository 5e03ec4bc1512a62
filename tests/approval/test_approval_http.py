"""The second-approval rule over HTTP: announce, approve, request changes, concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import (
    ANNOUNCEMENT_TEXT,
    DEPLOY_CHANNEL,
    announcement,
    announcement_texts,
    audit,
    book,
    booking,
    outbox_refuses,
    reply_to,
)
from sqlalchemy.engine import Engine

from support.fake_slack import FakeSlack
from support.inprocess import InProcessBot
from support.server import BotProcess
from support.slack_requests import ALICE, BOB, CAROL, DAVE, SignedClient

GROUP = "S0APPROVERS"


def ready(slack: SignedClient, fake_slack: FakeSlack, short_id: str) -> str:
    return reply_to(fake_slack, slack.command(f"ready {short_id}"))


def updates_of(fake_slack: FakeSlack, ts: str) -> list:  # type: ignore[type-arg]
    return [c for c in fake_slack.calls("chat.update") if c.get("ts") == ts]


def test_ready_posts_the_announcement_with_buttons(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine)
    answer = ready(slack, fake_slack, booked.short_id)
    assert "needs 1 approval" in answer

    posted = announcement(fake_slack, booked.short_id)
    buttons = [
        e["action_id"] for b in posted.blocks if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["approval_approve", "approval_request_changes"]
    assert "Rollback plan" in posted.all_text() or "Requested by" in posted.all_text()
    stored = booking(db_engine, booked.short_id)
    assert stored.status == "awaiting_approval"
    assert stored.announcement_ts == posted.response["ts"]


def test_ready_from_the_confirmation_button(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    sent = slack.command("schedule https://github.com/o/r/pull/1 tomorrow 10:00")
    confirmation = fake_slack.wait_for_response(sent.response_url_id)
    short_id = confirmation.all_text().split("`")[1]
    click = slack.click(confirmation.body, "booking_ready", short_id, channel_id="C0TEAM")
    assert "Announced" in reply_to(fake_slack, click)
    announcement(fake_slack, short_id)


def test_only_the_requester_announces_and_only_once(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine)
    refused = reply_to(fake_slack, slack.command(f"ready {booked.short_id}", user_id=BOB))
    assert "only <@U0ALICE001>" in refused
    ready(slack, fake_slack, booked.short_id)
    again = ready(slack, fake_slack, booked.short_id)
    assert "awaiting approval" in again and "From here you can use" in again


def test_the_requester_can_never_approve_their_own_deploy(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine)
    ready(slack, fake_slack, booked.short_id)
    posted = announcement(fake_slack, booked.short_id)

    value = f"{booked.short_id}:0"
    sent = slack.click(posted, "approval_approve", value, user_id=ALICE)
    assert "can't approve" in reply_to(fake_slack, sent)
    assert booking(db_engine, booked.short_id).status == "awaiting_approval"
    fake_slack.assert_no_call("chat.update", within=0.3)


def test_one_other_approval_reaches_the_default_quorum(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine)
    ready(slack, fake_slack, booked.short_id)
    posted = announcement(fake_slack, booked.short_id)

    slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)

    update = fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
    assert update.get("ts") == posted.response["ts"]
    assert "<@U0BOB00002>" in update.all_text()
    assert not any(
        b["type"] == "actions" and any(e["action_id"] == "approval_approve" for e in b["elements"])
        for b in update.blocks
    )
    dm = fake_slack.wait_for("chat.postMessage", lambda c: c.get("channel") == ALICE)
    assert "is approved" in dm.all_text()
    assert booking(db_engine, booked.short_id).status == "approved"
    actions = [e.action for e in audit(db_engine, booked.short_id)]
    assert actions == [
        "booking.created",
        "booking.announced",
        "approval.approved",
        "booking.approved",
    ]


def test_quorum_of_two_within_a_user_group(
    start_bot: Callable[..., BotProcess], fake_slack: FakeSlack, db_engine: Engine
) -> None:
    fake_slack.set_usergroup(GROUP, [BOB, CAROL])
    process = start_bot(REQUIRED_APPROVALS="2", APPROVER_USERGROUP=GROUP)
    with SignedClient.for_bot(process, fake_slack) as slack:
        booked = book(slack, fake_slack, db_engine)
        ready(slack, fake_slack, booked.short_id)
        posted = announcement(fake_slack, booked.short_id)
        value = f"{booked.short_id}:0"

        outsider = slack.click(posted, "approval_approve", value, user_id=DAVE)
        assert "Only members of <!subteam^S0APPROVERS>" in reply_to(fake_slack, outsider)

        slack.click(posted, "approval_approve", value, user_id=BOB)
        first = fake_slack.wait_for("chat.update", lambda c: "1 of 2" in c.all_text())
        assert "approval needed" in first.all_text()
        assert booking(db_engine, booked.short_id).status == "awaiting_approval"

        slack.click(posted, "approval_approve", value, user_id=CAROL)
        fake_slack.wait_for(
            "chat.update", lambda c: "2 of 2" in c.all_text() and "Approved" in c.all_text()
        )
        assert booking(db_engine, booked.short_id).status == "approved"


def test_simultaneous_approvals_double_clicks_and_retries_count_each_person_once(
    start_bot: Callable[..., BotProcess], fake_slack: FakeSlack, db_engine: Engine
) -> None:
    process = start_bot(REQUIRED_APPROVALS="2")
    with SignedClient.for_bot(process, fake_slack) as slack:
        booked = book(slack, fake_slack, db_engine)
        ready(slack, fake_slack, booked.short_id)
        posted = announcement(fake_slack, booked.short_id)
        value = f"{booked.short_id}:0"
        # Bob double-clicks, Carol clicks and Slack retries Carol's delivery, Dave
        # clicks too: all at the same moment.
        clickers = [BOB, BOB, CAROL, DAVE]
        barrier = threading.Barrier(len(clickers))

        def click(user_id: str) -> int:
            barrier.wait()
            return slack.click(posted, "approval_approve", value, user_id=user_id).status_code

        with ThreadPoolExecutor(len(clickers)) as pool:
            assert list(pool.map(click, clickers)) == [200] * len(clickers)

        final = fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
        assert final is not None
        actions = [e.action for e in audit(db_engine, booked.short_id)]
        # Two of the three people reached the quorum; the third came too late to count.
        assert actions.count("approval.approved") == 2
        assert actions.count("booking.approved") == 1
        assert booking(db_engine, booked.short_id).status == "approved"
        # Whatever order the updates reached Slack in, the message ends showing the truth.
        fake_slack.assert_no_call("chat.update", lambda c: False, within=0.5)
        latest = fake_slack.message(DEPLOY_CHANNEL, posted.response["ts"])
        assert latest is not None
        assert "Approved" in str(latest["blocks"])
        # One update recorded per counted decision (in its transaction, under the
        # booking's lock) and one per click that came after the quorum (it refreshes a
        # possibly stale message): besides the post, 2 to 4 updates recorded. Those still
        # waiting when a later one is recorded are collapsed into it (docs/adr/0019), so
        # Slack gets 1 to 4.
        recorded = announcement_texts(db_engine, booked.short_id)
        assert 3 <= len(recorded) <= 5, recorded
        updates = updates_of(fake_slack, posted.response["ts"])
        assert 1 <= len(updates) <= len(recorded) - 1, [u.all_text()[:120] for u in updates]


def test_a_slack_retry_of_an_approval_counts_once(
    start_bot: Callable[..., BotProcess], fake_slack: FakeSlack, db_engine: Engine
) -> None:
    process = start_bot(REQUIRED_APPROVALS="2")
    with SignedClient.for_bot(process, fake_slack) as slack:
        booked = book(slack, fake_slack, db_engine)
        ready(slack, fake_slack, booked.short_id)
        posted = announcement(fake_slack, booked.short_id)
        first = slack.click(posted, "approval_approve", f"{booked.short_id}:0", user_id=BOB)
        retry = slack.send(first.request, retry_num=1, retry_reason="http_timeout")
        assert retry.status_code == 200
        fake_slack.wait_for("chat.update", lambda c: "1 of 2" in c.all_text())
        fake_slack.wait_for_response(first.response_url_id, lambda c: "already" in c.all_text())
        assert [e.action for e in audit(db_engine, booked.short_id)].count("approval.approved") == 1
        assert len(updates_of(fake_slack, posted.response["ts"])) == 1


def test_request_changes_voids_approvals_and_tells_the_requester_why(
    start_bot: Callable[..., BotProcess], fake_slack: FakeSlack, db_engine: Engine
) -> None:
    process = start_bot(REQUIRED_APPROVALS="2")
    with SignedClient.for_bot(process, fake_slack) as slack:
        booked = book(slack, fake_slack, db_engine)
        ready(slack, fake_slack, booked.short_id)
        posted = announcement(fake_slack, booked.short_id)
        value = f"{booked.short_id}:0"
        slack.click(posted, "approval_approve", value, user_id=BOB)
        fake_slack.wait_for("chat.update", lambda c: "1 of 2" in c.all_text())

        slack.click(posted, "approval_request_changes", value, user_id=CAROL)
        modal = fake_slack.wait_for("views.open")
        empty = slack.submit_view(modal, {"reason": ""}, user_id=CAROL)
        assert empty.json()["response_action"] == "errors"
        slack.submit_view(modal, {"reason": "PR #2 still reads the old field"}, user_id=CAROL)

        dm = fake_slack.wait_for(
            "chat.postMessage",
            lambda c: c.get("channel") == ALICE and "requested changes" in c.all_text(),
        )
        assert "PR #2 still reads the old field" in dm.all_text()
        fake_slack.wait_for("chat.update", lambda c: "Changes requested" in c.all_text())
        stored = booking(db_engine, booked.short_id)
        assert (stored.status, stored.approval_round) == ("scheduled", 1)
        [entry] = [
            e for e in audit(db_engine, booked.short_id) if e.action == "booking.changes_requested"
        ]
        assert entry.reason == "PR #2 still reads the old field"

        # Buttons of the voided round no longer count.
        stale = slack.click(posted, "approval_approve", value, user_id=DAVE)
        assert "out of date" in reply_to(fake_slack, stale)

        # Announced again: a new message, the old one marked as replaced; Bob's earlier
        # approval does not carry over.
        ready(slack, fake_slack, booked.short_id)
        fake_slack.wait_for("chat.update", lambda c: "no longer counts" in c.all_text())
        second = fake_slack.wait_for_count(
            "chat.postMessage",
            2,
            lambda c: c.get("channel") == DEPLOY_CHANNEL and "approval needed" in c.all_text(),
        )[-1]
        assert "0 of 2" in second.all_text()


# The announcement's post and updates are recorded in the transaction of the decision
# that causes them (docs/adr/0019): when the database refuses the announcement's row, the
# decision must not stand either; without the refusal, it stands with exactly one row.


def test_a_booking_is_announced_only_with_its_announcement(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine)
    with outbox_refuses(db_engine, ANNOUNCEMENT_TEXT):
        assert "Announced" not in ready(slack, fake_slack, booked.short_id)
        assert booking(db_engine, booked.short_id).status == "scheduled"
        assert "booking.announced" not in [e.action for e in audit(db_engine, booked.short_id)]
    assert announcement_texts(db_engine, booked.short_id) == []

    assert "Announced" in ready(slack, fake_slack, booked.short_id)
    posted = announcement(fake_slack, booked.short_id)
    assert booking(db_engine, booked.short_id).status == "awaiting_approval"
    [text] = announcement_texts(db_engine, booked.short_id)
    assert text == posted.get("text")


def test_an_approval_stands_only_with_its_announcement_update(
    bot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine)
    ready(slack, fake_slack, booked.short_id)
    posted = announcement(fake_slack, booked.short_id)
    value = f"{booked.short_id}:0"

    with outbox_refuses(db_engine, ANNOUNCEMENT_TEXT):
        slack.click(posted, "approval_approve", value, user_id=BOB)
        bot.wait_idle()
        assert booking(db_engine, booked.short_id).status == "awaiting_approval"
        assert "approval.approved" not in [e.action for e in audit(db_engine, booked.short_id)]
    assert len(announcement_texts(db_engine, booked.short_id)) == 1  # the post
    fake_slack.assert_no_call("chat.update", within=0.3)

    slack.click(posted, "approval_approve", value, user_id=BOB)
    update = fake_slack.wait_for("chat.update", lambda c: "Approved" in c.all_text())
    assert update.get("ts") == posted.response["ts"]
    assert booking(db_engine, booked.short_id).status == "approved"
    assert len(announcement_texts(db_engine, booked.short_id)) == 2


def test_changes_are_requested_only_with_the_announcement_update(
    bot: InProcessBot, slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    booked = book(slack, fake_slack, db_engine)
    ready(slack, fake_slack, booked.short_id)
    posted = announcement(fake_slack, booked.short_id)
    value = f"{booked.short_id}:0"
    slack.click(posted, "approval_request_changes", value, user_id=CAROL)
    modal = fake_slack.wait_for("views.open")

    with outbox_refuses(db_engine, ANNOUNCEMENT_TEXT):
        slack.submit_view(modal, {"reason": "PR #2 still reads the old field"}, user_id=CAROL)
        bot.wait_idle()
        stored = booking(db_engine, booked.short_id)
        assert (stored.status, stored.approval_round) == ("awaiting_approval", 0)
    assert len(announcement_texts(db_engine, booked.short_id)) == 1  # the post

    slack.submit_view(modal, {"reason": "PR #2 still reads the old field"}, user_id=CAROL)
    fake_slack.wait_for("chat.update", lambda c: "Changes requested" in c.all_text())
    stored = booking(db_engine, booked.short_id)
    assert (stored.status, stored.approval_round) == ("scheduled", 1)
    assert len(announcement_texts(db_engine, booked.short_id)) == 2


@pytest.mark.parametrize("command", ["ready", "ready ZZZZZ"])
def test_ready_needs_a_known_id(slack: SignedClient, fake_slack: FakeSlack, command: str) -> None:
    answer = reply_to(fake_slack, slack.command(command))
    assert "/deploy list" in answer or "e.g. `/deploy ready" in answer
