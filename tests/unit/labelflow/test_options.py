"""What every command shares: declaration, dispatch, exit codes, shared options, validators."""

from __future__ import annotations

import argparse

import pytest

from labelflow.cli import commands, main
from labelflow.options import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    Command,
    CommandError,
    at_least_one,
    build_parser,
    dispatch,
    fraction,
    key_value,
    positive_seconds,
    stack_flags,
    stack_options,
    wrap,
)


def _run(command: Command, argv: list[str]) -> int:
    return dispatch(build_parser([command]).parse_args(argv))


def test_dispatch_returns_the_commands_exit_code() -> None:
    command = Command(name="hello", help="h", description="d", run=lambda args: 7)
    assert _run(command, ["hello"]) == 7


def test_a_command_error_is_one_line_naming_the_command_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fail(args: argparse.Namespace) -> int:
        raise CommandError("no such thing; do this instead")

    command = Command(name="hello", help="h", description="d", run=fail)

    assert _run(command, ["hello"]) == EXIT_ERROR
    assert capsys.readouterr().err == "labelflow hello: error: no such thing; do this instead\n"


def test_an_action_of_a_group_is_named_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    def fail(args: argparse.Namespace) -> int:
        raise CommandError("broken")

    group = Command(
        name="local",
        help="h",
        description="d",
        actions=(Command(name="up", help="h", description="d", run=fail),),
    )

    assert _run(group, ["local", "up"]) == EXIT_ERROR
    assert capsys.readouterr().err == "labelflow local up: error: broken\n"


def test_ctrl_c_exits_130() -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    assert _run(Command(name="x", help="h", description="d", run=interrupted), ["x"]) == (
        EXIT_INTERRUPTED
    )


def test_other_exceptions_are_not_hidden() -> None:
    def bug(args: argparse.Namespace) -> int:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        _run(Command(name="x", help="h", description="d", run=bug), ["x"])


_ACTION = Command(name="a", help="", description="", run=lambda args: 0)


@pytest.mark.parametrize("fields", [{}, {"run": lambda args: 0, "actions": (_ACTION,)}])
def test_a_command_runs_or_groups_actions_not_both(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="either run or actions"):
        Command(name="x", help="h", description="d", **fields)  # type: ignore[arg-type]


def _leaves(group: tuple[Command, ...], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for command in group:
        path = (*prefix, command.name)
        found += _leaves(command.actions, path) if command.actions else [path]
    return found


@pytest.mark.parametrize("path", _leaves(commands()), ids=" ".join)
def test_every_command_teaches_with_examples(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])

    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: labelflow {' '.join(path)}" in text
    assert "examples:\n  labelflow " in text


def test_the_command_list_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])

    text = capsys.readouterr().out
    for name in ("consolidate", "demo", "preview", "local", "submit", "status", "results"):
        assert f"    {name} " in text or f"    {name}\n" in text
    assert "examples:\n  labelflow demo " in text
    assert "exit codes: 0 done, 1 the job failed, 2 a problem to fix first" in text


@pytest.mark.parametrize(
    ("validator", "text", "value"),
    [
        (positive_seconds, "2.5", 2.5),
        (at_least_one, "3", 3),
        (fraction("accuracy"), "0", 0.0),
        (fraction("accuracy"), "1", 1.0),
        (key_value, "max-iter=5", ("max_iter", 5)),
        (key_value, "smoothing=0.1", ("smoothing", 0.1)),
        (key_value, "prior=uniform", ("prior", "uniform")),
    ],
)
def test_validators_accept(validator: object, text: str, value: object) -> None:
    assert validator(text) == value  # type: ignore[operator]


@pytest.mark.parametrize(
    ("validator", "text", "message"),
    [
        (positive_seconds, "soon", "expected a number of seconds, got 'soon'"),
        (positive_seconds, "0", "expected a positive number of seconds, got 0"),
        (positive_seconds, "nan", "expected a positive number of seconds, got nan"),
        (at_least_one, "2.5", "expected a whole number, got '2.5'"),
        (at_least_one, "0", "expected at least 1, got 0"),
        (fraction("worker accuracy"), "high", "expected a number from 0 to 1, got 'high'"),
        (fraction("worker accuracy"), "1.5", "worker accuracy must be from 0 to 1, got 1.5"),
        (key_value, "smoothing", "expected KEY=VALUE, got 'smoothing'"),
        (key_value, "=1", "expected KEY=VALUE, got '=1'"),
    ],
)
def test_validators_say_what_was_expected(validator: object, text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as error:
        validator(text)  # type: ignore[operator]
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("argv", "flags"),
    [
        ([], ""),
        (["--local"], " --local"),
        (["--stage", "prod", "--region", "eu-west-1"], " --stage prod --region eu-west-1"),
        (["--stack", "mine", "--stage", "prod", "--profile", "ml"], " --stack mine --profile ml"),
    ],
)
def test_stack_flags_repeat_the_stack_options_given(argv: list[str], flags: str) -> None:
    parser = argparse.ArgumentParser(parents=[stack_options()])
    assert stack_flags(parser.parse_args(argv)) == flags


def test_wrap_fills_each_paragraph() -> None:
    text = wrap(("word " * 30) + "\n\n" + "second   paragraph\nhere")
    first, second = text.split("\n\n")
    assert max(len(line) for line in first.splitlines()) <= 88
    assert len(first.splitlines()) == 2
    assert second == "second paragraph here"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--accuracy", "1.5"], "accuracy must be from 0 to 1, got 1.5"),
        (["demo", "--items", "0"], "expected at least 1, got 0"),
        (["demo", "--timeout", "-1"], "expected a positive number of seconds"),
    ],
)
def test_demo_arguments_are_checked_before_anything_starts(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_demo_refuses_more_answers_per_scan_than_annotators(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--annotators", "2", "--workers-per-item", "3"]) == EXIT_ERROR
    assert capsys.readouterr().err == (
        "labelflow demo: error: 2 annotators cannot give 3 answers per scan (nobody answers "
        "a scan twice): raise --annotators or lower --workers-per-item\n"
    )
