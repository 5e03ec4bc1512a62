"""The GitHub client's pulls-files and contents calls against the fake, which answers in
GitHub's wire format (pages with Link headers, base64 in 60-character lines, 404 bodies)."""

from __future__ import annotations

import base64

import httpx
import pytest

from bot.github.client import (
    FileTooLarge,
    GitHubClient,
    GitHubForbidden,
    GitHubNotFound,
    GitHubUnavailable,
)
from support.fake_github import DEFAULT_TOKEN, FakeGitHub

REPO = "mozilla/foundation.mozilla.org"


@pytest.fixture
def client(fake_github: FakeGitHub) -> GitHubClient:
    return GitHubClient(DEFAULT_TOKEN, fake_github.url, sleep=lambda _: None)


def test_files_are_listed_across_pages_with_status_and_previous_name(
    fake_github: FakeGitHub, client: GitHubClient
) -> None:
    fake_github.add_pull(REPO, 5, title="Big")
    base = fake_github.base_sha(REPO, 5)
    fake_github.set_tree(REPO, base, {"old/name.py": b"x = 1\n", "gone.py": b""})
    fake_github.set_pull_files(
        REPO,
        5,
        {"new/name.py": b"x = 1\n", "gone.py": None},
        renamed_from={"new/name.py": "old/name.py"},
        extra_unchanged=250,
    )
    listing = client.pull_files(REPO, 5, changed_files=252)
    assert len(listing.files) == 252 and not listing.truncated
    assert len(fake_github.calls(f"GET /repos/{REPO}/pulls/5/files*")) == 3
    renamed, removed = listing.files[0], listing.files[1]
    assert (renamed.status, renamed.previous_filename) == ("renamed", "old/name.py")
    assert removed.status == "removed"


def test_github_stops_at_3000_files_and_the_client_says_so(
    fake_github: FakeGitHub, client: GitHubClient
) -> None:
    fake_github.add_pull(REPO, 6, title="Huge")
    fake_github.set_pull_files(REPO, 6, {}, extra_unchanged=3005)
    pull = fake_github.pull(REPO, 6)
    assert pull["changed_files"] == 3005
    listing = client.pull_files(REPO, 6, changed_files=pull["changed_files"])
    assert len(listing.files) == 3000
    assert listing.truncated


def test_contents_are_base64_in_lines_and_decoded(
    fake_github: FakeGitHub, client: GitHubClient
) -> None:
    content = bytes(range(256)) * 4
    sha = fake_github.set_tree(REPO, "a" * 40, {"app/migrations/0001_initial.py": content})
    raw = httpx.get(
        f"{fake_github.url}/repos/{REPO}/contents/app/migrations/0001_initial.py",
        params={"ref": sha},
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
    ).json()
    assert raw["type"] == "file" and raw["encoding"] == "base64"
    assert all(len(line) <= 60 for line in raw["content"].splitlines())
    assert base64.b64decode(raw["content"]) == content
    assert client.file_content(REPO, "app/migrations/0001_initial.py", sha) == content
    assert client.file_content(REPO, "app/migrations/0002_missing.py", sha) is None
    assert client.directory(REPO, "app/migrations", sha) == ["app/migrations/0001_initial.py"]
    assert client.directory(REPO, "nowhere", sha) == []


def test_a_file_over_1_mb_is_refused(fake_github: FakeGitHub, client: GitHubClient) -> None:
    sha = fake_github.set_tree(REPO, "b" * 40, {"big.py": b"#" * (1024 * 1024 + 1)})
    with pytest.raises(FileTooLarge):
        client.file_content(REPO, "big.py", sha)


def test_errors_are_typed(fake_github: FakeGitHub, client: GitHubClient) -> None:
    with pytest.raises(GitHubNotFound):
        client.pull_files(REPO, 404)
    fake_github.fail_next("GET /repos/*/pulls/*/files", 403, message="Resource not accessible")
    fake_github.add_pull(REPO, 7, title="x")
    with pytest.raises(GitHubForbidden):
        client.pull_files(REPO, 7)
    fake_github.fail_next("GET /repos/*/pulls/*/files", 502, times=10)
    with pytest.raises(GitHubUnavailable):
        client.pull_files(REPO, 7)
    fake_github.clear_faults()
    fake_github.fail_next("GET /repos/*/pulls/*/files", 429, rate_limited=True, reset_in=3600)
    with pytest.raises(GitHubUnavailable):
        client.pull_files(REPO, 7)
