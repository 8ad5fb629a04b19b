"""The engine's record of a session's commands, read from the official CLI's progress."""

from __future__ import annotations

from ci.engine.record import EngineRecord

# As Dagger v0.21.8's plain progress printed them (colours kept), for a command that ran
# (its end printed twice), one served from the cache and one that failed.
PROGRESS = [
    "\x1b[95m12  : \x1b[0m\x1b[90;2m┆ \x1b[0m\x1b[34mwithExec\x1b[0m sh -ec 'echo x\\necho y'",
    "\x1b[95m12  : \x1b[0m\x1b[90;2m┆ \x1b[0m\x1b[90m[0.5s] \x1b[0m\x1b[90m|\x1b[0m x",
    "\x1b[95m12  : \x1b[0m\x1b[90;2m┆ \x1b[0mContainer.\x1b[1mwithExec\x1b[0m\x1b[32m DONE\x1b[0m"
    "\x1b[90m [1.6s]\x1b[0m",
    "13  : ┆ withExec true",
    "13  : ┆ Container.withExec CACHED [0.0s]",
    "14  : ┆ withExec false",
    "14  : ┆ Container.withExec ERROR [0.1s]",
    "12  : ┆ Container.withExec DONE [1.6s]",
    "9   : version CACHED [0.0s]",
]


def test_each_command_is_counted_once_by_how_it_ended() -> None:
    record = EngineRecord()
    for line in PROGRESS:
        record.read(line)
    assert record.as_dict() == {"ran": 1, "cached": 1, "failed": 1}
    assert record.ran == ["sh -ec 'echo x\\necho y'"]
    assert record.summary() == "engine: 1 commands ran, 1 served from its cache, 1 failed"


def test_a_commands_output_is_not_taken_for_its_end() -> None:
    record = EngineRecord()
    record.read("15  : ┆ withExec sh -c 'echo Container.withExec DONE [1s]'")
    record.read("15  : ┆ [0.1s] | Container.withExec DONE [1s]")
    assert record.as_dict() == {"ran": 0, "cached": 0, "failed": 0}
