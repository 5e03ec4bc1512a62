"""Merges and Heroku releases that move bookings, whichever comes first.

Like the gate (bot/gate/service.py), each delivery is first *recorded* in the transaction
that claims its delivery id, and answered at once; the *work* (matching a release to the
bookings whose merge commits it contains, which asks GitHub's compare API, and moving
them through the lifecycle flows) runs after the response, and the clock retries whatever
did not finish: GitHub was down, or the merge webhook has not arrived yet.

Nothing is moved twice: the lifecycle flows refuse a second landing (`Already`), a
release's final status is never taken back, alerts are unique per subject, and the
release-notes message is claimed before it is posted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.audit.model import SYSTEM_ACTOR, record
from bot.booking.lifecycle import Action
from bot.booking.model import Booking
from bot.booking.rules import Kind, Status
from bot.db import Database, utcnow
from bot.deploys.rules import Via
from bot.deploys.service import Done, Refused
from bot.gate.model import PullRequestAnalysisRow, PullRequestGate
from bot.github.client import Comparison, GitHubClient, GitHubError, GitHubUnavailable
from bot.heroku.client import HerokuClient, HerokuError, HerokuUnavailable
from bot.idempotency import AlreadyProcessed, claim
from bot.lifecycle.flows import DeployFlows
from bot.migration_analysis import (
    PullRequestAnalysis,
    Verdict,
    analyse_pull_request,
    is_migration_path,
)
from bot.releases import blocks
from bot.releases.model import DeployAlert, HerokuRelease, MergedPull
from bot.releases.notices import ALERT_KEY, NOTES_KEY, ReleaseNotices
from bot.releases.rules import MergeEvent, ReleaseEvent, status_moves
from bot.settings import App, Settings
from bot.slack.outbox import Outbox

log = logging.getLogger(__name__)

# Migration files of an unexplained release read at most (one request each).
MAX_RANGE_MIGRATIONS = 50
# Releases one clock tick works off at most.
RELEASE_BATCH = 20
# A release that fails to match this many times in a row (GitHub refusing) is given up.
MAX_ATTEMPTS = 50


@dataclass(frozen=True)
class Received:
    """What a delivery did, for the HTTP answer and the log."""

    status: str  # "recorded", "ignored", "unchanged" or "duplicate"
    detail: str = ""
    release_id: int | None = None
    repo: str | None = None  # a merge: the repository whose releases may now match


@dataclass(frozen=True)
class OpenAlert:
    id: int
    text: str
    created_at: datetime


class ReleaseService:
    def __init__(
        self,
        database: Database,
        github: GitHubClient,
        settings: Settings,
        flows: DeployFlows,
        outbox: Outbox,
        notices: ReleaseNotices,
        now: Callable[[], datetime] = utcnow,
        heroku: HerokuClient | None = None,
    ) -> None:
        self.database = database
        self.github = github
        # The Heroku Platform API (HEROKU_API_TOKEN): asked for a release's commit when
        # its webhook names none. None: such a release explains nothing.
        self.heroku = heroku
        self.settings = settings
        self.flows = flows
        self.notices = notices
        outbox.on_posted(NOTES_KEY, self._notes_posted)
        outbox.on_posted(ALERT_KEY, self._alert_posted)
        self.channel = settings.deploy_channel
        self.branch = settings.freeze_branch
        self.wait = timedelta(minutes=settings.release_wait_minutes)
        self.now = now

    def close(self) -> None:
        if self.heroku is not None:
            self.heroku.close()

    def follows(self, heroku_app: str | None) -> bool:
        """Whether `heroku_app` is a production app (not a review app)."""
        return heroku_app is not None and self.settings.production_app(heroku_app) is not None

    # -- recording ---------------------------------------------------------------------

    def record_merge(self, event: MergeEvent, delivery: str) -> Received:
        """A pull request merged into the production branch of a followed repository:
        recorded (who, which commit) on the booking deploying it, or raised as an alert
        when it is tricky and no approved, started booking names it."""
        if event.base_ref != self.branch:
            return Received("ignored", f"merged into {event.base_ref!r}, not {self.branch!r}")
        if not self.settings.apps_of_repo(event.repo):
            return Received("ignored", f"repository {event.repo!r} is not one of APPS")
        now = self.now()
        try:
            with self.database.transaction() as session:
                claim(session, f"github-merge:{delivery}")
                if session.scalar(
                    sa.select(MergedPull.id)
                    .where(sa.func.lower(MergedPull.repo) == event.repo.lower())
                    .where(MergedPull.number == event.number)
                ):
                    return Received("unchanged", f"{event.ref} was recorded before")
                deploying, covered = self._bookings_naming(session, event.ref)
                try:
                    # A savepoint: a parallel delivery about the same merge (another
                    # delivery id) may insert it first; then this one changes nothing.
                    with session.begin_nested():
                        session.add(
                            MergedPull(
                                repo=event.repo,
                                number=event.number,
                                merge_sha=event.merge_sha,
                                head_sha=event.head_sha,
                                merged_by=event.merged_by,
                                merged_at=now,
                                title=event.title,
                                booking_short_id=deploying[0].short_id if deploying else None,
                                received_at=now,
                            )
                        )
                except sa.exc.IntegrityError:
                    return Received("unchanged", f"{event.ref} was recorded in parallel")
                for booking in deploying:
                    record(
                        session,
                        actor_id=SYSTEM_ACTOR,
                        action="booking.merged",
                        entity_type="booking",
                        entity_id=booking.short_id,
                        after={"pull_request": event.ref, "merge_sha": event.merge_sha},
                        reason=f"{event.ref} merged by {event.merged_by} as {event.merge_sha[:7]}",
                        at=now,
                    )
                if not covered:
                    concern = self._concern(session, event.repo, event.head_sha)
                    if concern is not None:
                        self._alert(
                            session,
                            f"merge:{event.ref}",
                            blocks.unbooked_merge_text(
                                event.ref, event.title, event.merged_by, event.merge_sha, concern
                            ),
                            entity=("pull_request", event.ref),
                            action="deploy.merged_unbooked",
                        )
                        return Received("recorded", f"{event.ref}: alert", repo=event.repo)
                detail = f"{event.ref} for {deploying[0].short_id}" if deploying else event.ref
                return Received("recorded", detail, repo=event.repo)
        except AlreadyProcessed:
            return Received("duplicate", delivery)

    def record_release(self, event: ReleaseEvent, delivery: str) -> Received:
        """A release of a production app. A final status makes it due for matching."""
        now = self.now()
        try:
            with self.database.transaction() as session:
                claim(session, f"heroku:{delivery}")
                row = session.scalars(
                    sa.select(HerokuRelease)
                    .where(HerokuRelease.heroku_app == event.heroku_app)
                    .where(HerokuRelease.version == event.version)
                    .with_for_update()
                ).first()
                if row is None:
                    row = HerokuRelease(
                        heroku_app=event.heroku_app,
                        version=event.version,
                        heroku_id=event.release_id[:64],
                        status=event.status,
                        description=event.description,
                        deployed_by=event.deployed_by,
                        received_at=now,
                        due=event.final,
                        attempts=0,
                    )
                    try:
                        with session.begin_nested():
                            session.add(row)
                    except sa.exc.IntegrityError:
                        return Received("unchanged", "recorded by a parallel delivery")
                elif not status_moves(row.status, event.status):
                    return Received("unchanged", f"v{event.version} is already {row.status}")
                row.status = event.status
                row.due = event.final
                row.commit_sha = event.commit_sha or row.commit_sha
                row.output_url = event.output_url or row.output_url
                row.deployed_by = event.deployed_by or row.deployed_by
                row.heroku_id = event.release_id[:64] or row.heroku_id
                session.flush()
                return Received(
                    "recorded", f"{event.heroku_app} v{event.version} {event.status}", row.id
                )
        except AlreadyProcessed:
            return Received("duplicate", delivery)

    # -- matching releases to bookings ---------------------------------------------------

    def process_due(self, heroku_app: str | None = None, limit: int = RELEASE_BATCH) -> int:
        """Match the due releases (of one app, or all), oldest first. Stops at the first
        GitHub outage: the clock comes back."""
        query = sa.select(HerokuRelease.id).where(HerokuRelease.due.is_(True))
        if heroku_app is not None:
            query = query.where(HerokuRelease.heroku_app == heroku_app)
        with self.database.transaction() as session:
            ids = list(session.scalars(query.order_by(HerokuRelease.version).limit(limit)))
        done = 0
        for release_id in ids:
            try:
                if not self.process(release_id):
                    break
            except GitHubUnavailable:
                break
            done += 1
        return done

    def process_for_repo(self, repo: str) -> int:
        """A merge arrived: releases of the repository's apps that waited for it match now."""
        return sum(self.process_due(app.heroku_app) for app in self.settings.apps_of_repo(repo))

    def process(self, release_id: int) -> bool:
        """Match one release. Returns False when it must wait (GitHub down, or a deploying
        booking's merge not recorded yet): it stays due for the clock."""
        with self.database.transaction() as session:
            row = session.get(HerokuRelease, release_id)
            if row is None or not row.due:
                return True
            heroku_app, version, status = row.heroku_app, row.version, row.status
            sha, received_at = row.commit_sha, row.received_at
            heroku_id, output_url = row.heroku_id, row.output_url
        app = self.settings.production_app(heroku_app)
        if app is None or app.repo is None:
            self._finish(release_id, "not a followed app")
            return True
        if sha is None and self.heroku is not None:
            try:
                sha = self._commit_from_heroku(
                    self.heroku, release_id, heroku_app, heroku_id or str(version)
                )
            except HerokuUnavailable as exc:
                # Like a GitHub outage: the release stays due and the clock asks again.
                log.warning(
                    "Heroku unavailable reading %s v%s (will retry): %s", heroku_app, version, exc
                )
                self._attempt_failed(release_id, str(exc), service="Heroku")
                return False
        if sha is None:
            self._finish(release_id, "no commit in the release")
            return True
        try:
            matched, waiting = self._matching_bookings(app, sha)
            unexplained = not matched and not waiting
            span = None
            if unexplained or self.settings.release_notes:
                span = self._range(app, heroku_app, version, sha)
            unexplained_concern = None
            if unexplained and span is not None and not self._alerted_merges(app, span):
                unexplained_concern = self._range_concern(app, span, sha)
        except GitHubUnavailable as exc:
            log.warning(
                "GitHub unavailable matching %s v%s (will retry): %s", heroku_app, version, exc
            )
            self._attempt_failed(release_id, str(exc))
            return False
        if not matched and waiting and self.now() - received_at < self.wait:
            # The merge webhook may still come (deliveries arrive out of order).
            return False
        via = Via(
            f"Heroku release v{version} of {heroku_app} (`{sha[:7]}`)",
            blocks.failure_details(
                heroku_app,
                heroku_id,
                output_url,
                matched[0].requester_id if matched else "",
                self.settings.approver_usergroup,
            )
            if status == "failed" and matched
            else (),
        )
        results = []
        for booking in matched:
            results.append(self._move(booking, status, via))
        if unexplained_concern is not None:
            with self.database.transaction() as session:
                self._alert(
                    session,
                    f"release:{heroku_app}:v{version}",
                    blocks.unbooked_release_text(heroku_app, version, sha, unexplained_concern),
                    entity=("release", f"{heroku_app}:v{version}"),
                    action="deploy.released_unbooked",
                )
            results.append("alert")
        self._release_notes(release_id, app, matched, span)
        self._finish(release_id, "; ".join(results) or "no booking")
        self.post_alerts()
        return True

    def _matching_bookings(self, app: App, sha: str) -> tuple[list[Booking], bool]:
        """The deploying bookings of `app` whose every booked PR's merge commit `sha`
        contains; and whether some deploying booking still waits for a merge webhook."""
        repo = app.repo or ""
        with self.database.transaction() as session:
            bookings = list(
                session.scalars(
                    sa.select(Booking)
                    .where(Booking.app == app.name)
                    .where(Booking.status == Status.DEPLOYING.value)
                )
            )
            merges: dict[int, list[str] | None] = {}
            for booking in bookings:
                refs = [r for r in booking.pull_request_refs if r.repo.lower() == repo.lower()]
                if not refs:
                    continue  # names no PR of this app's repository: not for a release
                found = [
                    session.scalar(
                        # Repository names are case-insensitive on GitHub; a booked URL
                        # may be typed in another case than the delivery's full_name.
                        sa.select(MergedPull.merge_sha)
                        .where(sa.func.lower(MergedPull.repo) == ref.repo.lower())
                        .where(MergedPull.number == ref.number)
                    )
                    for ref in refs
                ]
                known = [merge for merge in found if merge is not None]
                # None: not every booked PR's merge is known yet.
                merges[booking.id] = known if len(known) == len(refs) else None
            for booking in bookings:
                session.expunge(booking)
        matched, waiting = [], False
        for booking in bookings:
            if booking.id not in merges:
                continue
            merge_shas = merges[booking.id]
            if merge_shas is None:
                waiting = True
                continue
            if all(self._contains(repo, sha, merge) for merge in merge_shas):
                matched.append(booking)
        return matched, waiting

    def _contains(self, repo: str, release_sha: str, merge_sha: str) -> bool:
        try:
            return self.github.compare(repo, merge_sha, release_sha).head_contains_base
        except GitHubUnavailable:
            raise
        except GitHubError as exc:
            # 404: a commit GitHub does not know (a force push, another repository).
            log.warning("could not compare %s...%s: %s", merge_sha[:7], release_sha[:7], exc)
            return False

    def _move(self, booking: Booking, status: str, via: Via) -> str:
        action = Action.LAND if status == "succeeded" else Action.FAIL
        outcome = self.flows.finish(
            booking.short_id, user_id=SYSTEM_ACTOR, may_act=True, action=action, via=via
        )
        if isinstance(outcome, Done):
            return f"{'landed' if action is Action.LAND else 'failed'} {booking.short_id}"
        if isinstance(outcome, Refused) and booking.kind == Kind.ES_MAPPING.value:
            # An ES mapping change lands when its checklist is done, not on release.
            with self.database.transaction() as session:
                self.notices.awaiting_checklist(session, booking, via)
            return f"{booking.short_id} waits for its checklist"
        return f"{booking.short_id} unchanged ({type(outcome).__name__})"

    def _range(self, app: App, heroku_app: str, version: int, sha: str) -> Comparison | None:
        """What the release brings since the previous succeeded release of the app
        (None for the first release seen, or when GitHub cannot compare them)."""
        if app.repo is None:
            return None
        with self.database.transaction() as session:
            previous = session.scalar(
                sa.select(HerokuRelease.commit_sha)
                .where(HerokuRelease.heroku_app == heroku_app)
                .where(HerokuRelease.version < version)
                .where(HerokuRelease.status == "succeeded")
                .where(HerokuRelease.commit_sha.is_not(None))
                .order_by(HerokuRelease.version.desc())
                .limit(1)
            )
        if previous is None or previous == sha:
            return None
        try:
            return self.github.compare(app.repo, previous, sha)
        except GitHubUnavailable:
            raise
        except GitHubError as exc:
            log.warning("could not compare releases of %s: %s", heroku_app, exc)
            return None

    def _alerted_merges(self, app: App, span: Comparison) -> bool:
        """Whether a merge in the range was already announced as unbooked (its alert
        said it reaches production with the next release: one alert is enough)."""
        with self.database.transaction() as session:
            numbers = list(
                session.scalars(
                    sa.select(MergedPull.number)
                    .where(MergedPull.repo == app.repo)
                    .where(MergedPull.merge_sha.in_(span.commits))
                )
            )
            if not numbers:
                return False
            subjects = [f"merge:{app.repo}#{n}" for n in numbers]
            return bool(
                session.scalar(sa.select(DeployAlert.id).where(DeployAlert.subject.in_(subjects)))
            )

    def _range_concern(self, app: App, comparison: Comparison, sha: str) -> str | None:
        """A release no booking explains: run the analyser on the migrations the commit
        range changes (read at the release's commit). Returns the first concern, or None."""
        if app.repo is None:
            return None
        # The release may name its commit by an abbreviation; the range's last commit is
        # the release's own, in full (what the contents API wants).
        head = comparison.commits[-1] if comparison.commits else sha
        changed = [item.filename for item in comparison.files]
        sources: dict[str, bytes | None] = {}
        for item in comparison.files:
            if not is_migration_path(item.filename) or len(sources) >= MAX_RANGE_MIGRATIONS:
                continue
            if item.status == "removed":
                sources[item.filename] = None
                continue
            try:
                sources[item.filename] = self.github.file_content(app.repo, item.filename, head)
            except GitHubUnavailable:
                raise
            except GitHubError:
                sources[item.filename] = None
        if not sources:
            return None
        try:
            analysis = analyse_pull_request(
                changed, sources, None, self.settings.es_mapping_patterns
            )
        except Exception:
            log.exception("the migration analyser failed on a release range")
            return "the analyser could not read its migrations"
        return _concern_text(analysis)

    def _release_notes(
        self, release_id: int, app: App, matched: list[Booking], span: Comparison | None
    ) -> None:
        if not self.settings.release_notes or not self.channel:
            return
        booking = matched[0] if matched else None
        with self.database.transaction() as session:
            taken = session.execute(
                sa.update(HerokuRelease)
                .where(HerokuRelease.id == release_id)
                .where(HerokuRelease.notes_ts.is_(None))
                .values(notes_ts="")
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return  # posted (or being posted) already
            row = session.get(HerokuRelease, release_id)
            if row is None:
                return
            pulls = self._pulls_in(session, app, row, matched, span)
            text = blocks.release_notes(
                row.heroku_app, row.version, row.commit_sha, row.status, pulls, row.deployed_by
            )
            # Recorded with the claim.
            self.notices.release_notes(session, release_id, text, booking)

    def _notes_posted(self, session: Session, key: str, channel: str, ts: str) -> None:
        session.execute(
            sa.update(HerokuRelease)
            .where(HerokuRelease.id == int(key.removeprefix(NOTES_KEY)))
            .values(notes_ts=ts)
        )

    def _pulls_in(
        self,
        session: Session,
        app: App,
        row: HerokuRelease,
        matched: list[Booking],
        span: Comparison | None,
    ) -> list[str]:
        """The recorded merges whose commits the release brings (the range since the
        previous release), else those of the bookings it lands."""
        commits = set(span.commits) if span is not None else set()
        if row.commit_sha:
            commits.add(row.commit_sha)
        found = set(
            session.scalars(
                sa.select(MergedPull.number)
                .where(MergedPull.repo == app.repo)
                .where(MergedPull.merge_sha.in_(sorted(commits)))
            )
        )
        if span is None:
            found |= {
                ref.number
                for booking in matched
                for ref in booking.pull_request_refs
                if ref.repo.lower() == (app.repo or "").lower()
            }
        return [f"#{number}" for number in sorted(found)]

    def _finish(self, release_id: int, outcome: str) -> None:
        with self.database.transaction() as session:
            session.execute(
                sa.update(HerokuRelease)
                .where(HerokuRelease.id == release_id)
                .values(due=False, outcome=outcome[:2000], last_error=None)
            )
        log.info("release %s: %s", release_id, outcome)

    def _commit_from_heroku(
        self, heroku: HerokuClient, release_id: int, heroku_app: str, release: str
    ) -> str | None:
        """The release's commit as the Platform API tells it (its slug's), stored on the
        release so a retry does not ask again. None when Heroku refuses (a token without
        access: logged) or the release has no slug commit (a config-var release)."""
        try:
            sha = heroku.release_commit(heroku_app, release)
        except HerokuUnavailable:
            raise
        except HerokuError as exc:
            log.warning("Heroku refused the release %s of %s: %s", release, heroku_app, exc)
            return None
        if sha is not None:
            with self.database.transaction() as session:
                row = session.get(HerokuRelease, release_id)
                if row is not None and row.commit_sha is None:
                    row.commit_sha = sha
        return sha

    def _attempt_failed(self, release_id: int, error: str, service: str = "GitHub") -> None:
        with self.database.transaction() as session:
            row = session.get(HerokuRelease, release_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = error[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.due = False
                row.outcome = f"given up: {service} kept failing"

    # -- helpers -------------------------------------------------------------------------

    def _bookings_naming(self, session: Session, ref: str) -> tuple[list[Booking], bool]:
        """Deploying bookings that name `ref`, and whether any approved, started (or
        already landed) booking covers it."""
        wanted = ref.lower()
        candidates = session.scalars(
            sa.select(Booking)
            .where(Booking.status.in_([Status.DEPLOYING.value, Status.LANDED.value]))
            .where(sa.func.lower(sa.cast(Booking.pull_requests, sa.Text)).like(f'%"{wanted}"%'))
        )
        named = [b for b in candidates if wanted in {p.lower() for p in b.pull_requests or ()}]
        deploying = [b for b in named if b.status == Status.DEPLOYING.value]
        return deploying, bool(named)

    def _concern(self, session: Session, repo: str, head_sha: str) -> str | None:
        """The first concern of the stored analysis of this head commit (bot/gate), or
        None when it is routine, was never analysed, or an approver marked this very
        commit routine (`/deploy allow`)."""
        allowed = session.scalars(
            sa.select(PullRequestGate)
            .where(PullRequestGate.repo == repo)
            .where(PullRequestGate.head_sha == head_sha)
        ).first()
        if allowed is not None and allowed.allowed_now():
            return None
        stored = session.scalars(
            sa.select(PullRequestAnalysisRow)
            .where(PullRequestAnalysisRow.repo == repo)
            .where(PullRequestAnalysisRow.head_sha == head_sha)
            .order_by(PullRequestAnalysisRow.id.desc())
        ).first()
        if stored is None or stored.verdict == Verdict.ROUTINE.value:
            return None
        return _concern_text(PullRequestAnalysis.from_json(stored.analysis))

    def _alert(
        self, session: Session, subject: str, text: str, *, entity: tuple[str, str], action: str
    ) -> None:
        try:
            with session.begin_nested():
                session.add(DeployAlert(subject=subject, text=text, created_at=self.now()))
        except sa.exc.IntegrityError:
            return  # raised before (a redelivery, or the clock and a webhook together)
        record(
            session,
            actor_id=SYSTEM_ACTOR,
            action=action,
            entity_type=entity[0],
            entity_id=entity[1],
            reason=text[:1000],
            at=self.now(),
        )

    # -- alerts --------------------------------------------------------------------------

    def post_alerts(self) -> int:
        """Post the alerts not posted yet (each once: claimed first)."""
        if not self.channel:
            return 0
        with self.database.transaction() as session:
            ids = list(
                session.scalars(
                    sa.select(DeployAlert.id)
                    .where(DeployAlert.message_ts.is_(None))
                    .order_by(DeployAlert.id)
                )
            )
        posted = 0
        for alert_id in ids:
            with self.database.transaction() as session:
                taken = session.execute(
                    sa.update(DeployAlert)
                    .where(DeployAlert.id == alert_id)
                    .where(DeployAlert.message_ts.is_(None))
                    .values(message_ts="", channel=self.channel)
                )
                if taken.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                alert = session.get(DeployAlert, alert_id)
                if alert is None:
                    continue
                # Recorded with the claim.
                self.notices.alert(session, alert)
            posted += 1
        return posted

    def _alert_posted(self, session: Session, key: str, channel: str, ts: str) -> None:
        session.execute(
            sa.update(DeployAlert)
            .where(DeployAlert.id == int(key.removeprefix(ALERT_KEY)))
            .values(message_ts=ts, channel=channel)
        )

    def open_alerts(self, limit: int = 5) -> list[OpenAlert]:
        with self.database.transaction() as session:
            return [
                OpenAlert(a.id, a.text, a.created_at)
                for a in session.scalars(
                    sa.select(DeployAlert)
                    .where(DeployAlert.acknowledged_at.is_(None))
                    .order_by(DeployAlert.id.desc())
                    .limit(limit)
                )
            ]

    def acknowledge(self, alert_id: int, user_id: str) -> DeployAlert | None:
        """Someone saw it: it leaves the App Home. None if there is no such alert or it
        was acknowledged already."""
        with self.database.transaction() as session:
            alert = session.get(DeployAlert, alert_id, with_for_update=True)
            if alert is None or alert.acknowledged_at is not None:
                return None
            alert.acknowledged_by = user_id
            alert.acknowledged_at = self.now()
            record(
                session,
                actor_id=user_id,
                action="deploy.alert_acknowledged",
                entity_type="alert",
                entity_id=alert.subject[:64],
                at=self.now(),
            )
            # Recorded with the acknowledgement (docs/adr/0019).
            self.notices.alert_acknowledged(session, alert, user_id)
            session.flush()
            session.expunge(alert)
            return alert


def _concern_text(analysis: PullRequestAnalysis) -> str | None:
    if analysis.verdict == Verdict.ROUTINE:
        return None
    finding = analysis.first_concern()
    if finding is None:
        return f"judged {analysis.verdict.value}"
    return f"{finding.operation}: {finding.reason}"
