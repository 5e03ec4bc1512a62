"""The base every fake shares (support/fake_server.py): which calls `where` selects, the
order faults fire in, and what reset() forgets. Shown on FakeHeroku, the smallest fake."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from support.fake_heroku import ACCEPT, TOKEN, FakeHeroku
from support.fake_server import http_selector

APP = "foundation-prod"


@pytest.fixture
def heroku() -> Iterator[FakeHeroku]:
    with FakeHeroku() as fake:
        yield fake


@pytest.fixture
def client(heroku: FakeHeroku) -> Iterator[httpx.Client]:
    headers = {"Accept": ACCEPT, "Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=heroku.url, headers=headers, timeout=5) as made:
        yield made


@pytest.mark.parametrize(
    ("where", "selector"),
    [
        ("*", "*"),
        ("GET /apps/*", "GET /apps/*"),
        ("post /repos/*", "POST /repos/*"),
        ("/apps/x/releases/*", "* /apps/x/releases/*"),
        ("get", "GET *"),
    ],
)
def test_where_reads_a_method_a_path_or_both(where: str, selector: str) -> None:
    assert http_selector(where) == selector


def test_calls_wait_for_and_assert_no_call_take_where_first(
    heroku: FakeHeroku, client: httpx.Client
) -> None:
    release = heroku.add_release(APP, 7, commit="a" * 40)
    assert client.get(f"/apps/{APP}/releases/7").status_code == 200
    assert client.get(f"/apps/{APP}/slugs/{release['slug']['id']}").status_code == 200

    assert len(heroku.calls()) == 2
    [slug] = heroku.calls(f"/apps/{APP}/slugs/*")
    assert slug.status == 200
    assert heroku.wait_for("GET", lambda c: "releases" in c.path, timeout=1).status == 200
    heroku.assert_no_call("POST", within=0)
    with pytest.raises(AssertionError, match="expected no GET"):
        heroku.assert_no_call("GET /apps/*/slugs/*", within=0)
    with pytest.raises(AssertionError, match=r"timed out .* Calls received"):
        heroku.wait_for("GET /apps/other/*", timeout=0.2)


def test_faults_fire_in_the_order_given_and_only_where_they_select(
    heroku: FakeHeroku, client: httpx.Client
) -> None:
    heroku.add_release(APP, 7, commit="a" * 40)
    heroku.fail_next("GET /apps/*/slugs/*", 503)
    heroku.fail_next("*", 429, times=2)
    assert client.get(f"/apps/{APP}/releases/7").status_code == 429  # the slug fault waits
    assert client.get(f"/apps/{APP}/slugs/nope").status_code == 503
    assert client.get(f"/apps/{APP}/releases/7").status_code == 429
    assert client.get(f"/apps/{APP}/releases/7").status_code == 200


def test_reset_forgets_calls_faults_the_outage_and_the_fakes_own_state(
    heroku: FakeHeroku, client: httpx.Client
) -> None:
    heroku.add_release(APP, 7, commit="a" * 40)
    client.get(f"/apps/{APP}/releases/7")
    heroku.fail_next("*", 503)
    heroku.set_down()
    heroku.reset()
    assert heroku.calls() == []
    answer = client.get(f"/apps/{APP}/releases/7")
    assert answer.status_code == 404 and answer.json()["id"] == "not_found"  # app forgotten
