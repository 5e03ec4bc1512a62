"""Review-app rules without Slack, HTTP or a database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.review_apps.rules import (
    Event,
    Notice,
    Tag,
    changes_anything,
    delivery_id,
    describe_errors,
    heroku_signature_ok,
    interpret_heroku,
    tag_for,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ZULIP = FIXTURES / "external/zulip/zerver/webhooks/heroku/fixtures"
SECRET_PASSWORD = "Pa55-w0rd*not_for_logs"


def load(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_bytes())


def good_notice(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "event": "ready",
        "app": "foundation-s-pr-12",
        "pr_number": 12,
        "url": "https://foundation-s-pr-12.herokuapp.com",
        "username": "admin",
        "password": SECRET_PASSWORD,
    }
    body.update(changes)
    return body


def test_tags_follow_the_dependencies_label() -> None:
    assert tag_for(("dependencies", "python")) is Tag.DEPENDABOT
    assert tag_for(("bug",)) is Tag.DEVS
    assert tag_for(()) is Tag.DEVS


def test_a_notice_hides_its_password_everywhere_it_could_be_printed() -> None:
    notice = Notice.model_validate(good_notice())
    assert notice.password is not None
    assert notice.password.get_secret_value() == SECRET_PASSWORD
    for shown in (repr(notice), str(notice), notice.model_dump_json()):
        assert SECRET_PASSWORD not in shown


def test_refusals_name_fields_and_never_echo_the_password() -> None:
    with pytest.raises(ValidationError) as caught:
        Notice.model_validate(good_notice(pr_number="twelve", password=SECRET_PASSWORD * 20))
    problems = describe_errors(caught.value)
    assert {p.field for p in problems} == {"pr_number", "password"}
    assert SECRET_PASSWORD not in repr(problems)
    assert SECRET_PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"pr_number": None, "branch": ""}, "pr_number or branch"),
        ({"password": None}, "username and password"),
        ({"event": "exploded"}, "event"),
        ({"url": "not a url"}, "url"),
        ({"app": "Bad Name!"}, "app"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_notices_are_refused(changes: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Notice.model_validate(good_notice(**changes))
    text = " ".join(f"{p.field} {p.problem}" for p in describe_errors(caught.value))
    assert says in text


def test_a_branch_app_and_a_credential_free_destroy_are_fine() -> None:
    branch = Notice.model_validate(good_notice(pr_number="", branch="fix-login"))
    assert (branch.pr_number, branch.branch) == (None, "fix-login")
    gone = Notice.model_validate(good_notice(event="destroyed", username=None, password=None))
    assert not gone.has_credentials


def test_heroku_signatures_are_base64_hmac_of_the_raw_body() -> None:
    body = (ZULIP / "release_create.json").read_bytes()
    good = base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode()
    assert heroku_signature_ok("s3cret", body, good)
    assert not heroku_signature_ok("other", body, good)
    assert not heroku_signature_ok("s3cret", body + b" ", good)
    assert not heroku_signature_ok("s3cret", body, None)
    assert not heroku_signature_ok("s3cret", body, "")


def test_release_and_destroy_deliveries_are_understood() -> None:
    created = interpret_heroku(load(ZULIP / "release_create.json"))
    assert created is not None
    assert (created.app, created.event, created.release_version) == (
        "vedant-test",
        Event.RELEASED,
        3,
    )
    failed = interpret_heroku(load(ZULIP / "release_failed.json"))
    assert failed is not None and failed.event is Event.FAILED
    gone = interpret_heroku(load(FIXTURES / "heroku/app_destroy.json"))
    assert gone is not None and (gone.app, gone.event) == ("vedant-test", Event.DESTROYED)


@pytest.mark.parametrize("name", ["app_update.json", "build_create.json"])
def test_other_deliveries_change_nothing(name: str) -> None:
    assert interpret_heroku(load(ZULIP / name)) is None


def test_the_delivery_id_prefers_the_header_then_the_body() -> None:
    payload = load(ZULIP / "release_create.json")
    assert delivery_id(payload, "hdr-1") == "hdr-1"
    assert delivery_id(payload, None) == "7e99cb52-1369-4507-be9e-32309898462d"
    assert delivery_id({"id": "evt"}, None) == "evt"
    assert delivery_id({}, None) is None


def test_destroyed_is_final_and_old_releases_do_not_win() -> None:
    assert not changes_anything("destroyed", 3, Event.RELEASED, 4)
    assert changes_anything("destroyed", 3, Event.READY, None)
    assert not changes_anything("released", 5, Event.FAILED, 4)
    assert changes_anything("released", 5, Event.FAILED, 5)
    assert changes_anything(None, None, Event.READY, None)
