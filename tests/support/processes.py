"""Processes of a running bot, read from /proc: the tests and the benchmark find the
gunicorn workers and the work processes (docs/adr/0013) under the server's pid."""

from __future__ import annotations

from pathlib import Path


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses; ppid follows the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


# What a work process calls itself (bot/slack/work_processes.py: PROCESS_NAME); forked
# from the gunicorn master, it has the master's command line.
WORK_PROCESS_NAME = "deploybot-work"


def is_work_process(pid: int) -> bool:
    """Whether `pid` is a work process, by the name it gives itself."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == WORK_PROCESS_NAME
    except OSError:
        return False  # exited while we looked


def work_processes(server_pid: int) -> list[int]:
    """The work processes under a `deploybot serve`."""
    return [pid for pid in process_tree(server_pid)[1:] if is_work_process(pid)]
