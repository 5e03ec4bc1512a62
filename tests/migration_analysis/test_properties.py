"""Whatever a pull request contains, the analyser answers and never raises."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.migration_analysis import (
    OperationFinding,
    PullRequestAnalysis,
    Verdict,
    analyse_file,
    analyse_pull_request,
)
from tests.migration_analysis.builders import HISTORY, migration

PATH = "shop/migrations/0002_x.py"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of migration source that combine into plausible and implausible operations.
NAMES = st.sampled_from(
    [
        "AddField",
        "RemoveField",
        "AlterField",
        "RenameField",
        "CreateModel",
        "DeleteModel",
        "RenameModel",
        "AlterModelTable",
        "AlterUniqueTogether",
        "AddIndex",
        "AddConstraint",
        "RunPython",
        "RunSQL",
        "SeparateDatabaseAndState",
        "AlterModelOptions",
        "Custom",
    ]
)
ATOMS = st.sampled_from(
    [
        '"person"',
        '"name"',
        '"nickname"',
        "None",
        "True",
        "1",
        "-2",
        "[]",
        "{}",
        "x",
        "x.y",
        "lambda: 0",
        "models.CharField(max_length=3)",
        "models.TextField(null=True)",
        'f"{x}"',
        "*args",
        "**kw",
        '{"db_table": "t"}',
        "{('a', 'b')}",
        "set()",
    ]
)


@st.composite
def operations(draw: st.DrawFn) -> str:
    name = draw(NAMES)
    args = draw(st.lists(ATOMS, max_size=4))
    kwargs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(
                    [
                        "model_name",
                        "name",
                        "field",
                        "reverse_code",
                        "sql",
                        "database_operations",
                        "state_operations",
                        "options",
                    ]
                ),
                ATOMS,
            ),
            max_size=3,
            unique_by=lambda pair: pair[0],
        )
    )
    positional = [arg for arg in args if not arg.startswith("**")]
    keyword = [f"{key}={value}" for key, value in kwargs if not value.startswith("*")]
    return f"migrations.{name}({', '.join(positional + keyword)})"


@FAST
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(source: bytes) -> None:
    analysis = analyse_file(PATH, source, {PATH: source})
    assert analysis.verdict in Verdict
    assert_no_internal_failure(analysis.operations)


@FAST
@given(st.text(max_size=500))
def test_arbitrary_text_never_raises(text: str) -> None:
    analysis = analyse_file(PATH, text.encode("utf-8", "surrogatepass"), None)
    assert analysis.verdict in Verdict
    assert_no_internal_failure(analysis.operations)


@FAST
@given(st.lists(operations(), max_size=6), st.lists(operations(), max_size=4))
def test_generated_operations_never_raise_and_round_trip(ops: list[str], base: list[str]) -> None:
    history = dict(HISTORY)
    history["shop/migrations/0001_extra.py"] = migration(*base)
    analysis = analyse_pull_request(
        [PATH, "search/mapping.json"],
        {PATH: migration(*ops, dependencies='[("shop", "0001_initial")]')},
        history,
        ["search/*.json"],
    )
    assert analysis.verdict == Verdict.TRICKY  # the ES path alone makes it tricky
    assert PullRequestAnalysis.from_json(analysis.to_json()) == analysis
    assert_no_internal_failure(analysis.findings())
    for finding in analysis.findings():
        assert "\n" not in finding.reason


def assert_no_internal_failure(findings: Iterable[OperationFinding]) -> None:
    """The analyser's last-resort catch (a bug in a rule) must never be what answered."""
    for finding in findings:
        assert "the analyser failed" not in finding.reason, finding
