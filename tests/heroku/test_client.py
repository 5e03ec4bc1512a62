"""The Heroku Platform API client against the fake API, over HTTP: the release's commit
via its slug, releases without one, refusals, rate limits and outages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.heroku.client import HerokuClient, HerokuError, HerokuUnavailable
from support.fake_heroku import TOKEN, FakeHeroku

APP = "foundation-site"
SHA = "1a5f89db9a6a62f29689b6eeea65e6b6eb0879cd"


@pytest.fixture
def heroku() -> Iterator[FakeHeroku]:
    fake = FakeHeroku().start()
    yield fake
    fake.stop()


@pytest.fixture
def client(heroku: FakeHeroku) -> Iterator[HerokuClient]:
    # No real waiting between retries.
    made = HerokuClient(TOKEN, heroku.url, sleep=lambda _seconds: None)
    yield made
    made.close()


def test_the_commit_of_a_release_by_id_or_version(heroku: FakeHeroku, client: HerokuClient) -> None:
    release = heroku.add_release(APP, 42, commit=SHA)
    assert client.release_commit(APP, release["id"]) == SHA
    assert client.release_commit(APP, "42") == SHA


def test_releases_without_a_slug_commit_have_none(heroku: FakeHeroku, client: HerokuClient) -> None:
    config_vars = heroku.add_release(APP, 43, commit=None, with_slug=False)
    assert client.release_commit(APP, config_vars["id"]) is None
    no_commit = heroku.add_release(APP, 44, commit=None)
    assert client.release_commit(APP, no_commit["id"]) is None


def test_refusals_are_final_and_outages_are_retried_then_unavailable(
    heroku: FakeHeroku, client: HerokuClient
) -> None:
    with pytest.raises(HerokuError) as missing:
        client.release_commit(APP, "999")
    assert missing.value.status_code == 404 and not isinstance(missing.value, HerokuUnavailable)
    with pytest.raises(HerokuError) as refused:
        HerokuClient("wrong-token", heroku.url).release_commit(APP, "1")
    assert refused.value.status_code == 401

    release = heroku.add_release(APP, 45, commit=SHA)
    heroku.fail_next("*", 503, times=2)  # two 503s, then the answer: retried within the call
    assert client.release_commit(APP, release["id"]) == SHA

    heroku.fail_next("*", 429)
    with pytest.raises(HerokuUnavailable):
        client.release_commit(APP, release["id"])
    heroku.set_down()
    with pytest.raises(HerokuUnavailable):
        client.release_commit(APP, release["id"])
