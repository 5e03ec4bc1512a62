"""What the outbox (docs/adr/0019) costs a notice on the normal path, Slack answering:
`.venv/bin/python -m bench.outbox [--messages N]`.

For each database (a throwaway PostgreSQL database at 127.0.0.1:5432 and an SQLite
file), posts N booking-sized notices to the fake Slack twice: straight through the Web
API client (as before the outbox) and through `Outbox.post` (record, claim, send, mark
sent: what a listener now waits for). Prints the median and p95 of each, the difference,
and the rows and bytes the outbox keeps per notice.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from slack_sdk import WebClient

from bench.paths import use_test_support
from bot.db import Database
from bot.migrations import upgrade
from bot.slack.outbox import Outbox, OutboxMessage

use_test_support()

from support.db import PostgresServer  # noqa: E402
from support.fake_slack import DEFAULT_TOKEN, FakeSlack  # noqa: E402

CHANNEL = "C0DEPLOY"
TEXT = "<@U0ALICE001> booked `B7K2Q`: foundation-site, migration, tomorrow at 14:00"
BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": ":calendar: *Deploy booked*"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": TEXT + " " + "x" * 300}},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "PRs: o/r#1 o/r#2"}]},
]


def timed(count: int, send: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        send()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered):6.2f} ms, p95 {p95:6.2f} ms"


def measure(url: str, label: str, fake: FakeSlack, count: int) -> None:
    upgrade(url)
    database = Database(url)
    client = WebClient(token=DEFAULT_TOKEN, base_url=fake.base_url)
    outbox = Outbox(database, client)
    try:
        # Warm both paths (connections, the client's opener).
        timed(20, lambda: client.chat_postMessage(channel=CHANNEL, text=TEXT, blocks=BLOCKS))
        timed(20, lambda: outbox.post(CHANNEL, TEXT, blocks=BLOCKS))
        direct = timed(
            count, lambda: client.chat_postMessage(channel=CHANNEL, text=TEXT, blocks=BLOCKS)
        )
        through = timed(count, lambda: outbox.post(CHANNEL, TEXT, blocks=BLOCKS))
        with database.transaction() as session:
            rows = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) or 0
            size = session.scalar(
                sa.select(
                    sa.func.avg(
                        sa.func.length(OutboxMessage.text)
                        + sa.func.length(sa.func.coalesce(OutboxMessage.blocks, ""))
                    )
                )
            )
        print(f"{label}: direct    {summary(direct)}")
        print(f"{label}: outbox    {summary(through)}")
        extra = statistics.median(through) - statistics.median(direct)
        print(f"{label}: the outbox adds {extra:.2f} ms per notice (medians)")
        print(
            f"{label}: {rows / (count + 20):.0f} row per notice, "
            f"{float(size or 0):.0f} characters of text and blocks each"
        )
    finally:
        database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    with FakeSlack() as fake, tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{Path(tmp) / 'outbox.sqlite3'}", "sqlite", fake, args.messages)
        fake.reset()
        server = PostgresServer()
        scratch = server.create_database()
        try:
            measure(scratch.url, "postgresql", fake, args.messages)
        finally:
            server.drop_all()


if __name__ == "__main__":
    main()
