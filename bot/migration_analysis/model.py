"""The analyser's results: plain frozen values that render to JSON and back.

The gate stores a pull request's analysis in the database (`to_json`/`from_json`), the
CLI prints it, and the Slack messages quote it, so these types carry no behaviour beyond
ordering verdicts and (de)serialising.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """How a deploy with this change must be handled.

    Ordered by `severity`: ROUTINE < REVIEW < TRICKY. REVIEW ("cannot tell") sits below
    TRICKY so that the first concern named to a person is a real finding when there is
    one; the gate treats both the same (fail closed).
    """

    ROUTINE = "routine"
    REVIEW = "review"
    TRICKY = "tricky"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    # As a str, "review" < "routine" < "tricky" alphabetically: compare by severity
    # instead, so that `verdict > Verdict.ROUTINE`, `max()` and `sorted()` mean what
    # they say. (Equality and hashing stay the str's: Verdict("tricky") == "tricky".)
    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.severity < other.severity

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.severity <= other.severity

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.severity > other.severity

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.severity >= other.severity


_SEVERITY = {Verdict.ROUTINE: 0, Verdict.REVIEW: 1, Verdict.TRICKY: 2}


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The most severe verdict; ROUTINE when there is none."""
    return max(verdicts, key=lambda verdict: verdict.severity, default=Verdict.ROUTINE)


@dataclass(frozen=True)
class OperationFinding:
    """One migration operation and what it means for a deploy."""

    operation: str  # as written, e.g. "RemoveField"
    model: str | None  # as written in the migration, e.g. "person"
    field: str | None
    verdict: Verdict
    reason: str  # one line, naming model and field

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "model": self.model,
            "field": self.field,
            "verdict": self.verdict.value,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OperationFinding:
        return cls(
            operation=str(data["operation"]),
            model=_optional_str(data.get("model")),
            field=_optional_str(data.get("field")),
            verdict=Verdict(data["verdict"]),
            reason=str(data["reason"]),
        )


@dataclass(frozen=True)
class FileAnalysis:
    """The analysis of one migration file. `verdict` is its worst operation's (or REVIEW
    when the file could not be read at all)."""

    path: str
    verdict: Verdict
    operations: tuple[OperationFinding, ...]
    warnings: tuple[str, ...] = ()  # house rules; they never change the verdict
    advice: tuple[str, ...] = ()  # how to ship it safely (e.g. split a rename)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "verdict": self.verdict.value,
            "operations": [finding.to_json() for finding in self.operations],
            "warnings": list(self.warnings),
            "advice": list(self.advice),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileAnalysis:
        return cls(
            path=str(data["path"]),
            verdict=Verdict(data["verdict"]),
            operations=tuple(OperationFinding.from_json(item) for item in data["operations"]),
            warnings=tuple(str(item) for item in data.get("warnings", ())),
            advice=tuple(str(item) for item in data.get("advice", ())),
        )


KIND_ES = "es"
KIND_MIGRATION = "migration"


@dataclass(frozen=True)
class PullRequestAnalysis:
    """Everything the gate needs to know about one head commit of a pull request."""

    files: tuple[FileAnalysis, ...]
    es_mapping_paths: tuple[str, ...]  # changed paths matched by ES_MAPPING_PATHS
    verdict: Verdict
    kind: str | None  # KIND_ES, KIND_MIGRATION or None (routine)
    advice: tuple[str, ...] = ()  # PR-wide advice (shapes spread over several files)

    @classmethod
    def build(
        cls,
        files: Iterable[FileAnalysis],
        es_mapping_paths: Iterable[str] = (),
        advice: Iterable[str] = (),
    ) -> PullRequestAnalysis:
        """Derive the verdict and kind from the files and ES paths (the only way the
        analyser makes one, so the three always agree)."""
        files = tuple(files)
        es_paths = tuple(es_mapping_paths)
        verdict = worst(item.verdict for item in files)
        if es_paths:
            verdict = Verdict.TRICKY
        kind = KIND_ES if es_paths else KIND_MIGRATION if verdict != Verdict.ROUTINE else None
        return cls(
            files=files, es_mapping_paths=es_paths, verdict=verdict, kind=kind, advice=tuple(advice)
        )

    def findings(self) -> tuple[OperationFinding, ...]:
        return tuple(finding for item in self.files for finding in item.operations)

    def first_concern(self) -> OperationFinding | None:
        """The first tricky operation, else the first one needing review, else None."""
        for wanted in (Verdict.TRICKY, Verdict.REVIEW):
            for finding in self.findings():
                if finding.verdict == wanted:
                    return finding
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "kind": self.kind,
            "es_mapping_paths": list(self.es_mapping_paths),
            "files": [item.to_json() for item in self.files],
            "advice": list(self.advice),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PullRequestAnalysis:
        return cls(
            files=tuple(FileAnalysis.from_json(item) for item in data["files"]),
            es_mapping_paths=tuple(str(path) for path in data.get("es_mapping_paths", ())),
            verdict=Verdict(data["verdict"]),
            kind=_optional_str(data.get("kind")),
            advice=tuple(str(item) for item in data.get("advice", ())),
        )


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)
