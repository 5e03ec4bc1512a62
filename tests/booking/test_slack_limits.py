"""Long content never makes Slack refuse a message about a booking.

Every free-text input is bounded (the modal's max_length, a refusal with an example in the
one-line form, nothing stored), and every message, announcement and Home tab stays inside
Slack's limits whatever is stored, saying where the whole of a cut text is. The fake Slack
refuses over-limit payloads as Slack does (tests/support/slack_limits.py), so a renderer
that overflows fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.approval.blocks import changes_modal
from bot.booking.blocks import schedule_modal
from bot.booking.model import Booking
from support.block_kit import validate_view
from support.fake_slack import FakeSlack, SlackCall
from support.slack_limits import message_error
from support.slack_requests import ALICE, BOB, SignedClient, app_home_opened

DEPLOY_CHANNEL = "C0DEPLOY"
# A first command in a fresh work process loads the date parser; on a machine shared
# with other test runs that alone has taken over the fake's default 10 s.
LOADED = 60.0
# The bounds the README documents (bot/slack/limits.py), written out so that this file
# also runs, and fails, on code without them.
TITLE_MAX = 200
ROLLBACK_PLAN_MAX = 1000
NOTES_MAX = 1000
MAX_PULL_REQUESTS = 10
# The longest repository name GitHub allows is 100 characters, its owner 39.
LONG_REPO = "o" * 39 + "/" + "r" * 100
# Markup characters on purpose: escaping turns each into several, and a cut must not
# leave half an escape.
FILLER = "Migrate back & restore <the> backup; "


def longest(limit: int, filler: str = FILLER) -> str:
    return (filler * (limit // len(filler) + 1))[:limit].strip().ljust(limit, "x")


def prs(count: int) -> str:
    return " ".join(f"https://github.com/{LONG_REPO}/pull/{9_000_000 + n}" for n in range(count))


def one_line(title: str, rollback: str, notes: str, pull_requests: str) -> str:
    return (
        f'schedule {pull_requests} tomorrow 14:00 for 45m "{title}" '
        f'rollback:"{rollback}" notes:"{notes}"'
    )


def stored(engine: Engine) -> list[Booking]:
    with Session(engine) as session:
        rows = list(session.scalars(sa.select(Booking)))
        for row in rows:
            session.expunge(row)
        return rows


def accepted(call: SlackCall) -> SlackCall:
    assert call.ok, (call.method, call.response)
    return call


# The fake must refuse what Slack refuses, or none of the tests below prove anything.


def test_the_fake_refuses_over_limit_messages(fake_slack: FakeSlack) -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    assert message_error({"text": "t", "blocks": [section]}) is not None
    assert message_error({"text": "t" * 40_001}) is not None
    divider = {"type": "divider"}
    assert message_error({"text": "t", "blocks": [divider] * 51}) is not None
    assert message_error({"text": "t", "blocks": [divider] * 50}) is None


def test_response_urls_refuse_over_limit_blocks(fake_slack: FakeSlack) -> None:
    import httpx

    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    answer = httpx.post(fake_slack.response_url("r1"), json={"text": "t", "blocks": [section]})
    assert answer.status_code == 400
    assert answer.json() == {
        "ok": False,
        "error": "invalid_blocks",
        "errors": answer.json()["errors"],
    }


# Inputs at their longest are accepted and every message about them goes through.


def test_the_longest_booking_is_confirmed_noticed_and_announced(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    fake_slack.set_user(ALICE, tz="Europe/Berlin")
    title = longest(TITLE_MAX, "Rename & <retype> ")
    rollback = longest(ROLLBACK_PLAN_MAX)
    notes = longest(NOTES_MAX, "Note & <this> ")
    sent = slack.command(one_line(title, rollback, notes, prs(MAX_PULL_REQUESTS)))
    assert sent.status_code == 200, sent.text

    confirmation = accepted(fake_slack.wait_for_response(sent.response_url_id, timeout=LOADED))
    assert "Booked" in confirmation.all_text(), confirmation.all_text()
    [row] = stored(db_engine)
    assert (row.title, row.rollback_plan, row.notes) == (title, rollback, notes)
    assert len(row.pull_request_refs) == MAX_PULL_REQUESTS
    hint = f"/deploy history {row.short_id}"
    assert hint in confirmation.all_text()  # something was cut, and it says where to look

    notice = fake_slack.wait_for(
        "chat.postMessage",
        lambda c: c.get("channel") == DEPLOY_CHANNEL and row.short_id in c.all_text(),
        LOADED,
    )
    accepted(notice)
    assert hint in notice.all_text()

    ready = slack.command(f"ready {row.short_id}")
    fake_slack.wait_for_response(ready.response_url_id, timeout=LOADED)
    announced = fake_slack.wait_for(
        "chat.postMessage",
        lambda c: c.get("channel") == DEPLOY_CHANNEL and "approval needed" in c.all_text(),
        LOADED,
    )
    accepted(announced)

    # Many approvals on the longest booking: every update of the announcement fits too.
    approve = slack.click(announced, "approval_approve", f"{row.short_id}:0", user_id=BOB)
    assert approve.status_code == 200
    update = fake_slack.wait_for(
        "chat.update", lambda c: c.get("ts") == announced.response["ts"], LOADED
    )
    accepted(update)

    # The whole of it is where the cut messages say.
    history = slack.command(f"history {row.short_id}")
    whole = accepted(
        fake_slack.wait_for_response(history.response_url_id, timeout=LOADED)
    ).all_text()
    for text in (rollback, notes):
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in whole


@pytest.mark.parametrize(
    ("title", "rollback", "notes", "count", "says"),
    [
        ("x" * (TITLE_MAX + 1), "plan", "", 1, "title"),
        ("t", "x" * (ROLLBACK_PLAN_MAX + 1), "", 1, "rollback plan"),
        ("t", "plan", "x" * (NOTES_MAX + 1), 1, "notes"),
        ("t", "plan", "", MAX_PULL_REQUESTS + 1, "pull requests"),
    ],
    ids=["title", "rollback", "notes", "pull-requests"],
)
def test_one_line_over_a_bound_is_refused_with_an_example(
    slack: SignedClient,
    fake_slack: FakeSlack,
    db_engine: Engine,
    title: str,
    rollback: str,
    notes: str,
    count: int,
    says: str,
) -> None:
    sent = slack.command(one_line(title, rollback, notes, prs(count)))
    reply = accepted(fake_slack.wait_for_response(sent.response_url_id, timeout=LOADED)).all_text()
    assert "Not booked" in reply and says in reply.lower(), reply
    assert "Example: `/deploy schedule" in reply
    assert stored(db_engine) == []
    fake_slack.assert_no_call("chat.postMessage", within=0.3)


def test_every_text_input_of_the_modals_is_bounded() -> None:
    modals = [
        schedule_modal(default_app="site", origin_channel_id="C1", default_duration="45m"),
        changes_modal("B7K2Q:0", "C1", "1.2"),
    ]
    for modal in modals:
        assert validate_view(modal) == []
        inputs = [b["element"] for b in modal["blocks"] if b["type"] == "input"]
        texts = [e for e in inputs if e["type"] == "plain_text_input"]
        assert texts
        for element in texts:
            assert 1 <= element.get("max_length", 0) <= 3000, element


def test_override_reasons_are_bounded(
    slack: SignedClient, fake_slack: FakeSlack, db_engine: Engine
) -> None:
    sent = slack.command(f'schedule {prs(1)} tomorrow 14:00 for 45m "t"')
    fake_slack.wait_for_response(sent.response_url_id, timeout=LOADED)
    [row] = stored(db_engine)
    start = slack.command(f'start {row.short_id} --override "{"x" * 501}"')
    reply = fake_slack.wait_for_response(start.response_url_id, timeout=LOADED).all_text()
    assert "override reason" in reply and "Example:" in reply
    [after] = stored(db_engine)
    assert after.status == row.status and after.override_reason is None


# The App Home with many bookings, each at its longest.


@pytest.fixture
def many_bookings(db_engine: Engine) -> Iterator[int]:
    now = datetime.now(UTC)
    # More than the inputs now accept: stored before the bounds, the Home tab must still fit.
    refs = [f"{LONG_REPO}#{9_000_000 + n}" for n in range(3 * MAX_PULL_REQUESTS)]
    rows: list[dict[str, Any]] = []
    for n in range(120):
        starts = now + timedelta(hours=2 + n)
        rows.append(
            {
                "short_id": f"L{n:04d}",
                "app": "foundation-site",
                "kind": "migration",
                # Escaping makes each & five characters: 120 such titles are over a
                # message's 40,000.
                "title": "&" * TITLE_MAX,
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=45),
                "status": "awaiting_approval" if n % 2 else "scheduled",
                "requester_id": ALICE if n % 3 else BOB,
                "rollback_plan": longest(5 * ROLLBACK_PLAN_MAX),
                "notes": longest(5 * NOTES_MAX),
                "pull_requests": refs,
            }
        )
    with Session(db_engine) as session:
        session.add_all(Booking(**values) for values in rows)
        session.commit()
    yield len(rows)


def test_the_home_tab_with_many_long_bookings_is_published(
    slack: SignedClient, fake_slack: FakeSlack, many_bookings: int
) -> None:
    for user in (ALICE, BOB):
        sent = slack.send(app_home_opened(user))
        assert sent.status_code == 200
        published = fake_slack.wait_for(
            "views.publish", lambda c, u=user: c.get("user_id") == u, LOADED
        )
        accepted(published)
        assert validate_view(published.get("view")) == []


def test_deploy_list_with_many_long_bookings_is_answered(
    slack: SignedClient, fake_slack: FakeSlack, many_bookings: int
) -> None:
    sent = slack.command("list")
    reply = accepted(fake_slack.wait_for_response(sent.response_url_id, timeout=LOADED))
    assert "Upcoming deploys" in reply.all_text()
