"""The fake GitHub REST API speaks GitHub's wire format.

Driven with plain httpx, sending the headers the bot sends, so what is checked here is
the HTTP contract itself: status codes, bodies, ``Link`` pagination, rate-limit headers.
Pull request shapes are checked against a real GitHub payload (octokit/webhooks).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.fake_github import DEFAULT_TOKEN, FakeGitHub

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "external"
OPENED_PR = (
    FIXTURES / "octokit-webhooks/payload-examples/api.github.com/pull_request/opened.payload.json"
)
REPO = "mozilla/foundation.mozilla.org"
PULLS = f"/repos/{REPO}/pulls"
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
HEADERS = {
    "Authorization": f"Bearer {DEFAULT_TOKEN}",
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def github(server: FakeGitHub) -> FakeGitHub:
    server.reset()
    return server


@pytest.fixture
def client(github: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=github.url, headers=HEADERS, timeout=10) as http:
        yield http


def _status_url(sha: str) -> str:
    return f"/repos/{REPO}/statuses/{sha}"


# ------------------------------------------------------------------- pull requests


def test_pagination_follows_link_rel_next_until_absent(
    github: FakeGitHub, client: httpx.Client
) -> None:
    for number in range(1, 66):
        github.add_pull(REPO, number, title=f"PR {number}")

    url: str | None = f"{PULLS}?state=open&base=master&per_page=30"
    pages: list[httpx.Response] = []
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(response)
        url = response.links.get("next", {}).get("url")

    assert [len(p.json()) for p in pages] == [30, 30, 5]
    numbers = [pr["number"] for page in pages for pr in page.json()]
    # GitHub's default order: newest first.
    assert numbers == list(range(65, 0, -1))

    first, middle, last = (p.links for p in pages)
    assert set(first) == {"next", "last"}
    assert set(middle) == {"prev", "next", "last", "first"}
    assert set(last) == {"prev", "first"}
    # Absolute URLs on the fake, keeping the query and replacing only ``page``.
    assert first["last"]["url"] == (
        f"{github.url}{PULLS}?state=open&base=master&per_page=30&page=3"
    )
    assert middle["prev"]["url"].endswith("&page=1")
    # GitHub's exact header layout: <url>; rel="x", comma-separated, prev/next/last/first.
    raw = pages[1].headers["link"]
    assert re.fullmatch(r'(<[^>]+>; rel="(prev|next|last|first)")(, <[^>]+>; rel="\w+")*', raw)
    assert re.findall(r'rel="(\w+)"', raw) == ["prev", "next", "last", "first"]


def test_per_page_defaults_to_30_and_is_capped_at_100(
    github: FakeGitHub, client: httpx.Client
) -> None:
    for number in range(1, 151):
        github.add_pull(REPO, number, title=f"PR {number}")

    default = client.get(PULLS)
    assert len(default.json()) == 30
    assert default.links["last"]["url"].endswith("page=5")

    capped = client.get(PULLS, params={"per_page": 500})
    assert len(capped.json()) == 100
    assert capped.links["last"]["url"].endswith("page=2")

    beyond = client.get(PULLS, params={"per_page": 100, "page": 9})
    assert beyond.status_code == 200
    assert beyond.json() == []


def test_single_page_has_no_link_header(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_pull(REPO, 1, title="only one")
    response = client.get(PULLS)
    assert "link" not in response.headers
    github.add_repo("mozilla/empty")
    empty = client.get("/repos/mozilla/empty/pulls")
    assert empty.json() == []
    assert "link" not in empty.headers


def test_filters_by_state_base_and_head(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_pull(REPO, 1, title="open master")
    github.add_pull(REPO, 2, title="open main", base="main")
    github.add_pull(REPO, 3, title="closed master", state="closed")
    github.add_pull(REPO, 4, title="merged master", head_ref="feature/x")
    github.close_pull(REPO, 4, merged=True)

    def numbers(**params: Any) -> list[int]:
        response = client.get(PULLS, params=params)
        assert response.status_code == 200
        return sorted(pr["number"] for pr in response.json())

    assert numbers() == [1, 2]  # state defaults to open
    assert numbers(state="open", base="master") == [1]
    assert numbers(state="closed") == [3, 4]
    assert numbers(state="all") == [1, 2, 3, 4]
    assert numbers(state="all", base="main") == [2]
    assert numbers(state="all", head="mozilla:feature/x") == [4]
    assert client.get(PULLS, params={"state": "merged"}).status_code == 422

    closed = {pr["number"]: pr for pr in client.get(PULLS, params={"state": "closed"}).json()}
    # List items are GitHub's "simple" shape: no ``merged`` flag, only ``merged_at``.
    assert "merged" not in closed[4]
    assert closed[4]["merged_at"] is not None
    assert closed[3]["merged_at"] is None
    assert closed[3]["closed_at"] is not None


def test_pull_request_shape_matches_real_github(github: FakeGitHub, client: httpx.Client) -> None:
    real: dict[str, Any] = json.loads(OPENED_PR.read_text())["pull_request"]
    github.add_pull(REPO, 1234, title="Add donate banner", labels=["bug", "deploy-risky"])

    fake = client.get(f"{PULLS}/1234").json()

    assert set(fake) == set(real)
    for key in ("user", "head", "base", "_links"):
        assert set(fake[key]) == set(real[key]), key
    assert set(fake["head"]["repo"]) == set(real["head"]["repo"])
    assert set(fake["head"]["user"]) == set(real["head"]["user"])
    assert set(fake["labels"][0]) == set(real["labels"][0])
    for key, value in real.items():
        if value is not None and fake[key] is not None:
            assert type(fake[key]) is type(value), key

    listed = client.get(PULLS).json()[0]
    assert set(listed) == set(real) - {
        "merged",
        "mergeable",
        "rebaseable",
        "mergeable_state",
        "merged_by",
        "comments",
        "review_comments",
        "maintainer_can_modify",
        "commits",
        "additions",
        "deletions",
        "changed_files",
    }


def test_add_pull_values(github: FakeGitHub, client: httpx.Client) -> None:
    created = github.add_pull(REPO, 7, title="Bump Django", labels=["deploy"], user_login="alice")
    fetched = client.get(f"{PULLS}/7").json()
    assert fetched == created
    assert fetched["number"] == 7
    assert fetched["title"] == "Bump Django"
    assert fetched["state"] == "open"
    assert fetched["html_url"] == f"https://github.com/{REPO}/pull/7"
    assert fetched["url"] == f"{github.url}{PULLS}/7"
    assert fetched["user"]["login"] == "alice"
    assert [label["name"] for label in fetched["labels"]] == ["deploy"]
    assert SHA_RE.match(fetched["head"]["sha"])
    assert fetched["head"]["repo"]["full_name"] == REPO
    assert fetched["base"]["ref"] == "master"
    assert fetched["base"]["repo"]["full_name"] == REPO
    assert fetched["draft"] is False
    assert fetched["merged"] is False
    assert ISO_RE.match(fetched["created_at"])
    assert ISO_RE.match(fetched["updated_at"])


def test_update_and_close_pull(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_pull(REPO, 5, title="WIP", draft=True)
    new_sha = "a" * 40
    github.update_pull(REPO, 5, title="Ready", head_sha=new_sha, draft=False, labels=["ok"])
    pr = client.get(f"{PULLS}/5").json()
    assert (pr["title"], pr["head"]["sha"], pr["draft"]) == ("Ready", new_sha, False)
    assert [label["name"] for label in pr["labels"]] == ["ok"]

    github.close_pull(REPO, 5, merged=True, merged_by="bob")
    pr = client.get(f"{PULLS}/5").json()
    assert pr["state"] == "closed"
    assert pr["merged"] is True
    assert pr["merged_by"]["login"] == "bob"
    assert SHA_RE.match(pr["merge_commit_sha"])
    assert client.get(PULLS).json() == []


def test_missing_pull_and_repo_are_github_404s(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_repo(REPO)
    for path in (f"{PULLS}/999", "/repos/mozilla/nope/pulls", "/repos/mozilla/nope/pulls/1"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        body = response.json()
        assert body["message"] == "Not Found"
        assert body["documentation_url"].startswith("https://docs.github.com/rest")
        assert body["status"] == "404"
    assert client.get("/user/repos").status_code == 404


# ------------------------------------------------------------------------ statuses


def test_status_post_then_list_newest_first(github: FakeGitHub, client: httpx.Client) -> None:
    sha = github.add_pull(REPO, 1, title="x")["head"]["sha"]
    first = client.post(
        _status_url(sha),
        json={
            "state": "pending",
            "target_url": "https://deploybot.example/bookings/1",
            "description": "Deploy booked for 14:00",
            "context": "deploybot/schedule",
        },
    )
    assert first.status_code == 201
    status = first.json()
    assert status["state"] == "pending"
    assert status["description"] == "Deploy booked for 14:00"
    assert status["target_url"] == "https://deploybot.example/bookings/1"
    assert status["context"] == "deploybot/schedule"
    assert isinstance(status["id"], int)
    assert ISO_RE.match(status["created_at"])
    assert status["creator"]["login"] == github.login
    assert first.headers["location"] == f"{github.url}{_status_url(sha)}"

    second = client.post(_status_url(sha), json={"state": "success", "context": "ci"})
    assert second.json()["description"] is None
    third = client.post(_status_url(sha), json={"state": "success"})
    assert third.json()["context"] == "default"

    listed = client.get(f"/repos/{REPO}/commits/{sha}/statuses")
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()] == [
        third.json()["id"],
        second.json()["id"],
        status["id"],
    ]
    assert listed.json() == github.statuses(REPO, sha)
    # A branch name resolves to its head commit.
    by_branch = client.get(f"/repos/{REPO}/commits/pr-1/statuses").json()
    assert [s["id"] for s in by_branch] == [s["id"] for s in listed.json()]

    latest = github.latest_status(REPO, sha, "deploybot/schedule")
    assert latest is not None and latest["state"] == "pending"
    client.post(_status_url(sha), json={"state": "failure", "context": "deploybot/schedule"})
    latest = github.latest_status(REPO, sha, "deploybot/schedule")
    assert latest is not None and latest["state"] == "failure"
    assert github.latest_status(REPO, sha, "nope") is None
    assert github.statuses(REPO, "0" * 40) == []


def test_status_description_over_140_chars_is_422(github: FakeGitHub, client: httpx.Client) -> None:
    sha = github.add_pull(REPO, 1, title="x")["head"]["sha"]
    ok = client.post(_status_url(sha), json={"state": "success", "description": "x" * 140})
    assert ok.status_code == 201

    response = client.post(_status_url(sha), json={"state": "success", "description": "x" * 141})
    assert response.status_code == 422
    assert response.json() == {
        "message": "Validation Failed",
        "errors": [
            {
                "resource": "Status",
                "code": "custom",
                "field": "description",
                "message": "description is too long (maximum is 140 characters)",
            }
        ],
        "documentation_url": "https://docs.github.com/rest/commits/statuses#create-a-commit-status",
        "status": "422",
    }
    assert len(github.statuses(REPO, sha)) == 1


def test_status_validation(github: FakeGitHub, client: httpx.Client) -> None:
    sha = github.add_pull(REPO, 1, title="x")["head"]["sha"]
    assert client.post(_status_url(sha), json={"state": "done"}).status_code == 422
    assert client.post(_status_url(sha), json={"context": "x"}).status_code == 422
    unknown = client.post(_status_url("b" * 40), json={"state": "success"})
    assert unknown.status_code == 422
    assert unknown.json()["message"] == f"No commit found for SHA: {'b' * 40}"
    bad_json = client.post(
        _status_url(sha), content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["message"] == "Problems parsing JSON"
    # add_commit makes a sha known without a pull request.
    other = github.add_commit(REPO)
    assert client.post(_status_url(other), json={"state": "success"}).status_code == 201


# ------------------------------------------------------------- auth and headers


def test_bad_or_missing_token_is_401(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_pull(REPO, 1, title="x")
    bad = client.get(PULLS, headers={"Authorization": "Bearer ghp_wrong"})
    assert bad.status_code == 401
    assert bad.json() == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    }
    assert bad.headers["x-ratelimit-limit"] == "60"  # unauthenticated bucket

    with httpx.Client(base_url=github.url) as anonymous:
        missing = anonymous.get(PULLS)
        assert missing.status_code == 401
        assert missing.json()["message"] == "Requires authentication"
        # /rate_limit works without a token, as on GitHub.
        assert anonymous.get("/rate_limit").json()["rate"]["limit"] == 60

    # GitHub also accepts the older "token" scheme.
    legacy = client.get(PULLS, headers={"Authorization": f"token {DEFAULT_TOKEN}"})
    assert legacy.status_code == 200


def test_every_response_carries_github_headers(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_pull(REPO, 1, title="x")
    responses = [client.get(PULLS), client.get(f"{PULLS}/1"), client.get(f"{PULLS}/2")]
    request_ids = set()
    for response in responses:
        headers = response.headers
        assert headers["content-type"] == "application/json; charset=utf-8"
        assert headers["x-ratelimit-limit"] == "5000"
        assert headers["x-ratelimit-resource"] == "core"
        assert int(headers["x-ratelimit-reset"]) > time.time()
        assert int(headers["x-ratelimit-used"]) + int(headers["x-ratelimit-remaining"]) == 5000
        assert re.fullmatch(r"[0-9A-F]+(:[0-9A-F]+){4}", headers["x-github-request-id"])
        assert headers["x-github-api-version-selected"] == "2022-11-28"
        assert headers["server"] == "GitHub.com"
        request_ids.add(headers["x-github-request-id"])
    assert len(request_ids) == 3
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["4999", "4998", "4997"]


def test_rate_limit_endpoint(github: FakeGitHub, client: httpx.Client) -> None:
    client.get(PULLS)
    body = client.get("/rate_limit").json()
    assert body["rate"] == body["resources"]["core"]
    assert body["rate"]["limit"] == 5000
    assert body["rate"]["used"] == 1
    assert body["rate"]["remaining"] == 4999
    assert set(body["resources"]) >= {"core", "search", "graphql"}
    # Checking the rate limit does not use it up.
    assert client.get("/rate_limit").json()["rate"]["remaining"] == 4999


def test_exhausted_rate_limit_refills_at_reset(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_repo(REPO)
    github.set_rate_limit(remaining=1, reset_in=1.5)
    assert client.get(PULLS).status_code == 200
    limited = client.get(PULLS)
    assert limited.status_code == 403
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert limited.json()["message"].startswith("API rate limit exceeded for user ID ")
    reset = int(limited.headers["x-ratelimit-reset"])
    time.sleep(max(0.0, reset - time.time()) + 0.1)
    recovered = client.get(PULLS)
    assert recovered.status_code == 200
    assert recovered.headers["x-ratelimit-remaining"] == "4999"


# ------------------------------------------------------------------ fault injection


def test_fail_next_502_is_an_html_page(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_repo(REPO)
    github.fail_next(f"GET {PULLS}", status=502)
    response = client.get(PULLS)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text
    assert "x-github-request-id" in response.headers
    assert client.get(PULLS).status_code == 200


def test_fail_next_503_times_and_pattern(github: FakeGitHub, client: httpx.Client) -> None:
    sha = github.add_pull(REPO, 1, title="x")["head"]["sha"]
    github.fail_next("POST /repos/*/statuses/*", status=503, times=2)
    # Requests that do not match the pattern are unaffected.
    assert client.get(PULLS).status_code == 200
    for _ in range(2):
        response = client.post(_status_url(sha), json={"state": "success"})
        assert response.status_code == 503
        assert response.json()["message"].startswith("No server is currently available")
    assert client.post(_status_url(sha), json={"state": "success"}).status_code == 201
    assert len(github.statuses(REPO, sha)) == 1


def test_secondary_rate_limit(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_repo(REPO)
    github.fail_next("*", status=403, retry_after=3)
    response = client.get(PULLS)
    assert response.status_code == 403
    assert response.headers["retry-after"] == "3"
    assert response.headers["x-ratelimit-remaining"] != "0"
    body = response.json()
    assert body["message"].startswith("You have exceeded a secondary rate limit")
    assert response.headers["x-github-request-id"] in body["message"]
    assert "secondary-rate-limits" in body["documentation_url"]
    assert client.get(PULLS).status_code == 200


@pytest.mark.parametrize("status", [403, 429])
def test_primary_rate_limit(github: FakeGitHub, client: httpx.Client, status: int) -> None:
    github.add_repo(REPO)
    github.fail_next("/repos/*", status=status, rate_limited=True, reset_in=2)
    before = time.time()
    response = client.get(PULLS)
    after = time.time()
    assert response.status_code == status
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.headers["x-ratelimit-used"] == response.headers["x-ratelimit-limit"]
    # The fake sets the reset 2 s after it answers (rounded up): bounded by the answer's
    # time, not the request's, which a busy machine can delay by more than a second.
    assert before + 2 < int(response.headers["x-ratelimit-reset"]) <= after + 3
    assert "retry-after" not in response.headers
    assert response.json()["message"].startswith("API rate limit exceeded")
    assert client.get(PULLS).status_code == 200


def test_fail_next_plain_error(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_repo(REPO)
    github.fail_next(PULLS, status=403, message="Resource not accessible by integration")
    response = client.get(PULLS)
    assert response.status_code == 403
    assert response.json()["message"] == "Resource not accessible by integration"
    with pytest.raises(ValueError):
        github.fail_next(status=500, rate_limited=True)


def test_set_down_then_back(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_pull(REPO, 1, title="x")
    github.set_down(True)
    for path in (PULLS, f"{PULLS}/1", "/rate_limit"):
        response = client.get(path)
        assert response.status_code == 503
        assert "x-ratelimit-remaining" in response.headers
    github.set_down(False)
    assert client.get(PULLS).status_code == 200
    assert [c.status for c in github.calls()] == [503, 503, 503, 200]


def test_set_delay(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_repo(REPO)
    github.set_delay("*", 0.3)
    started = time.monotonic()
    assert client.get(PULLS).status_code == 200
    assert time.monotonic() - started >= 0.3
    github.set_delay("*", 0)
    started = time.monotonic()
    client.get(PULLS)
    assert time.monotonic() - started < 0.3


# ------------------------------------------------------------------------ recording


def test_calls_are_recorded(github: FakeGitHub, client: httpx.Client) -> None:
    sha = github.add_pull(REPO, 1, title="x")["head"]["sha"]
    client.get(PULLS, params={"state": "all"})
    client.post(_status_url(sha), json={"state": "success", "context": "deploybot"})

    assert len(github.calls()) == 2
    [get] = github.calls(f"GET {PULLS}*")
    assert get.params == {"state": "all"}
    assert get.headers["authorization"] == f"Bearer {DEFAULT_TOKEN}"
    assert get.headers["x-github-api-version"] == "2022-11-28"
    assert get.ok and isinstance(get.response, list)
    [post] = github.calls(f"post /repos/{REPO}/statuses/*")
    assert post.get("context") == "deploybot"
    assert post.status == 201
    assert "POST" in post.summary() and "201" in post.summary()


def test_wait_for_sees_calls_from_another_thread(github: FakeGitHub, client: httpx.Client) -> None:
    sha = github.add_pull(REPO, 1, title="x")["head"]["sha"]

    def later() -> None:
        time.sleep(0.2)
        client.post(_status_url(sha), json={"state": "pending", "context": "deploybot"})

    thread = threading.Thread(target=later)
    thread.start()
    call = github.wait_for("POST /repos/*", lambda c: c.body["state"] == "pending", timeout=5)
    thread.join()
    assert call.status == 201


def test_wait_for_timeout_lists_received_calls(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_repo(REPO)
    client.get(PULLS)
    with pytest.raises(AssertionError, match=r"GET /repos/mozilla/foundation\.mozilla\.org/pulls"):
        github.wait_for("POST /repos/*", timeout=0.3)


def test_assert_no_call(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_repo(REPO)
    client.get(PULLS)
    github.assert_no_call("POST", within=0.1)
    with pytest.raises(AssertionError, match="expected no GET"):
        github.assert_no_call(f"GET {PULLS}*", within=0.1)


def test_reset_forgets_everything(github: FakeGitHub, client: httpx.Client) -> None:
    github.add_pull(REPO, 1, title="x")
    github.fail_next(status=500, times=5)
    github.set_down(True)
    client.get(PULLS)
    github.reset()
    assert github.calls() == []
    assert client.get(PULLS).status_code == 404  # the repo is gone too
    assert client.get("/rate_limit").json()["rate"]["used"] == 1


# ------------------------------------------------------------------- compare

# The top-level fields and a commit's fields of GitHub's "Compare two commits" answer
# (REST API reference, "commit-comparison" schema).
COMPARE_FIELDS = {
    "url",
    "html_url",
    "permalink_url",
    "diff_url",
    "patch_url",
    "base_commit",
    "merge_base_commit",
    "status",
    "ahead_by",
    "behind_by",
    "total_commits",
    "commits",
    "files",
}
COMMIT_FIELDS = {
    "sha",
    "node_id",
    "commit",
    "url",
    "html_url",
    "comments_url",
    "author",
    "committer",
    "parents",
}


def test_compare_walks_the_commit_graph(github: FakeGitHub, client: httpx.Client) -> None:
    base = github.branch_sha(REPO)
    github.add_pull(REPO, 5, title="Remove email")
    github.set_pull_files(REPO, 5, {"people/migrations/0002_remove_email.py": b"# x\n"})
    merge = github.close_pull(REPO, 5, merged=True)["merge_commit_sha"]
    later = github.push(REPO, files={"README.md": b"hi\n"})

    ahead = client.get(f"/repos/{REPO}/compare/{merge}...{later}").json()
    assert set(ahead) == COMPARE_FIELDS
    assert (ahead["status"], ahead["ahead_by"], ahead["behind_by"]) == ("ahead", 1, 0)
    assert set(ahead["commits"][0]) == COMMIT_FIELDS
    assert SHA_RE.match(ahead["commits"][0]["sha"])
    assert [f["filename"] for f in ahead["files"]] == ["README.md"]

    since_base = client.get(f"/repos/{REPO}/compare/{base}...{later}").json()
    assert [c["sha"] for c in since_base["commits"]][-1] == later
    assert "people/migrations/0002_remove_email.py" in {f["filename"] for f in since_base["files"]}
    assert client.get(f"/repos/{REPO}/compare/{later}...{merge}").json()["status"] == "behind"
    assert client.get(f"/repos/{REPO}/compare/{merge}...{merge}").json()["status"] == "identical"
    # An abbreviated sha works, as on GitHub; an unknown one is GitHub's 404.
    short = client.get(f"/repos/{REPO}/compare/{merge[:7]}...{later[:8]}")
    assert short.json()["status"] == "ahead"
    missing = client.get(f"/repos/{REPO}/compare/{'0' * 40}...{later}")
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"
