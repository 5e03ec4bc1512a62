"""ES_MAPPING_PATHS patterns: shell-style globs over repository paths, with `**`.

`*` and `?` stay within one path segment (so `search/*.py` does not reach into
`search/tests/`), `**` spans any number of segments (`**/mappings/*.json`,
`kitsune/search/**`), `[...]` is a character class as in `fnmatch`. Patterns match the
whole path; a leading `/` or `./` is ignored. An empty list matches nothing (the check
is off).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    pattern = pattern.strip()
    if pattern.startswith("./"):
        pattern = pattern[2:]
    pattern = pattern.lstrip("/")
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:[^/]*/)*")  # zero or more whole segments
            index += 3
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif char == "*":
            out.append("[^/]*")
            index += 1
        elif char == "?":
            out.append("[^/]")
            index += 1
        elif char == "[":
            end = pattern.find(
                "]", index + 2 if pattern[index + 1 : index + 2] in "!^" else index + 1
            )
            if end == -1:
                out.append(re.escape(char))
                index += 1
            else:
                body = pattern[index + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                index = end + 1
        else:
            out.append(re.escape(char))
            index += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def matches_any(path: str, patterns: Sequence[str]) -> bool:
    normal = path.replace("\\", "/").lstrip("/")
    return any(compile_glob(pattern).match(normal) for pattern in patterns if pattern.strip())
