"""What every `labelflow` command shares: how it is declared, parsed, checked and run.

A command is a :class:`Command`: its name, a one-line help, a description, examples, the
function that adds its own arguments and the function that runs it (``local`` holds the
``up`` action the same way). :func:`build_parser` makes the one ``argparse`` parser of all of
them; :func:`dispatch` runs the command the arguments chose, and turns the problems a user
can fix (:class:`CommandError`, which commands raise for them) into one line on standard
error, ``labelflow <command>: error: <what is wrong and how to fix it>``.

Exit codes, the same for every command: :data:`EXIT_OK` (0) done; :data:`EXIT_FAILED` (1) the
job failed, timed out or was aborted; :data:`EXIT_ERROR` (2) something to fix first (a bad
argument, an unknown stack, project or job, an unreadable file); :data:`EXIT_INTERRUPTED`
(130) Ctrl-C.

Options more than one command takes are built here once: :func:`stack_options` (which
deployed or local stack the job commands talk to, and :func:`stack_flags` to repeat them in
a suggested command) and :func:`stage_option`; so are the validators given as ``type=``
(:func:`positive_seconds`, :func:`at_least_one`, :func:`fraction`, :func:`key_value`),
whose messages say what was expected.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_STAGE",
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "LOCAL_STATE",
    "STACK_HELP",
    "Command",
    "CommandError",
    "at_least_one",
    "build_parser",
    "dispatch",
    "fraction",
    "key_value",
    "positive_seconds",
    "stack_flags",
    "stack_options",
    "stage_option",
    "wrap",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

DEFAULT_STAGE = "dev"
#: Where `labelflow local up` writes the emulator's endpoint and the stack's outputs.
LOCAL_STATE = Path(".labelflow/local.json")

#: The epilog paragraph of every command that takes :func:`stack_options`.
STACK_HELP = """\
where the stack is:
  default         the deployed stack labelflow-<stage>-Labeling (--stage, default dev),
                  found with CloudFormation DescribeStacks in --region with --profile
  --local         the stack of `labelflow local up` (reads .labelflow/local.json)
"""

_WIDTH = 88


class CommandError(Exception):
    """A problem the user can fix; the message says what it is and how."""


# -- validators (argparse ``type=``) ----------------------------------------------------------


def positive_seconds(text: str) -> float:
    """A number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def at_least_one(text: str) -> int:
    """A whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {text}")
    return value


def fraction(what: str) -> Callable[[str], float]:
    """A validator of a number from 0 to 1; its message names ``what`` it is.

    >>> fraction("worker accuracy")("0.9")
    0.9
    """

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a number from 0 to 1, got {text!r}"
            ) from None
        if not 0.0 <= value <= 1.0:
            raise argparse.ArgumentTypeError(f"{what} must be from 0 to 1, got {text}")
        return value

    parse.__name__ = what.replace(" ", "_")  # argparse names the type in some messages
    return parse


def key_value(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` → ``(key, value)``: dashes in the key become underscores, and the value
    is an int or a float when it reads as one.

    >>> key_value("max-iter=5")
    ('max_iter', 5)
    """
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    parsed: Any = value
    for convert in (int, float):
        try:
            parsed = convert(value)
            break
        except ValueError:
            continue
    return key.replace("-", "_"), parsed


# -- shared options ---------------------------------------------------------------------------


def stack_options() -> argparse.ArgumentParser:
    """A parent parser: which stack a job command talks to (``--stage``, ``--stack``,
    ``--region``, ``--profile``; or ``--local`` with ``--state``)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("stack")
    group.add_argument(
        "--stage", default=DEFAULT_STAGE, help=f"stage of the stack (default: {DEFAULT_STAGE})"
    )
    group.add_argument("--stack", help="stack name (default: labelflow-<stage>-Labeling)")
    group.add_argument("--region", help="AWS region (default: your AWS configuration)")
    group.add_argument("--profile", help="AWS profile (default: your AWS configuration)")
    group.add_argument("--local", action="store_true", help="use the stack of `labelflow local up`")
    group.add_argument(
        "--state",
        type=Path,
        default=LOCAL_STATE,
        help=f"state file of `labelflow local up` (default: {LOCAL_STATE})",
    )
    return parent


def stage_option(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--stage`` (default ``dev``): the stage whose configuration ``what``."""
    parser.add_argument(
        "--stage", default=DEFAULT_STAGE, help=f"stage {what} (default: {DEFAULT_STAGE})"
    )


def stack_flags(args: argparse.Namespace) -> str:
    """The :func:`stack_options` given, to repeat in a suggested command (`` --local``)."""
    if args.local:
        return " --local"
    flags = ""
    if args.stack:
        flags += f" --stack {args.stack}"
    elif args.stage != DEFAULT_STAGE:
        flags += f" --stage {args.stage}"
    for name in ("region", "profile"):
        if getattr(args, name):
            flags += f" --{name} {getattr(args, name)}"
    return flags


def wrap(text: str) -> str:
    """Paragraphs (separated by blank lines) filled to the width of the help's examples."""
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n")]
    return "\n\n".join(textwrap.fill(p, width=_WIDTH) for p in paragraphs if p)


# -- commands ---------------------------------------------------------------------------------


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """A command without arguments of its own."""


@dataclass(frozen=True, kw_only=True)
class Command:
    """One `labelflow` command (or, with ``actions``, a group such as ``local``).

    Attributes:
        name: what is typed after ``labelflow``.
        help: one line, in the list of commands.
        description: what the command does, in plain paragraphs (filled by :func:`wrap`).
        examples: the epilog, as written (examples, exit codes, notes).
        arguments: adds the command's own arguments to its parser.
        run: runs the command and returns its exit code; ``None`` for a group.
        parents: parent parsers of shared options (:func:`stack_options`).
        actions: the group's commands (``labelflow local up``).
    """

    name: str
    help: str
    description: str
    examples: str = ""
    arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
    run: Callable[[argparse.Namespace], int] | None = None
    parents: tuple[Callable[[], argparse.ArgumentParser], ...] = ()
    actions: tuple[Command, ...] = ()

    def __post_init__(self) -> None:
        if (self.run is None) == (not self.actions):
            raise ValueError(f"command {self.name!r} needs either run or actions, not both")


def build_parser(
    commands: Sequence[Command],
    *,
    prog: str = "labelflow",
    description: str = "",
    examples: str = "",
) -> argparse.ArgumentParser:
    """The parser of ``commands``; each leaf sets ``args.dispatch`` to itself."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=examples or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add(parser, commands, dest="command", metavar="COMMAND")
    return parser


def _add(
    parser: argparse.ArgumentParser, commands: Sequence[Command], *, dest: str, metavar: str
) -> None:
    subparsers = parser.add_subparsers(dest=dest, metavar=metavar, required=True)
    for command in commands:
        sub = subparsers.add_parser(
            command.name,
            parents=[make() for make in command.parents],
            help=command.help,
            description=wrap(command.description),
            epilog=command.examples or None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.arguments(sub)
        if command.actions:
            _add(sub, command.actions, dest=f"{command.name}_action", metavar="ACTION")
        else:
            sub.set_defaults(dispatch=_Chosen(command, sub.prog))


@dataclass(frozen=True)
class _Chosen:
    command: Command
    prog: str


def dispatch(args: argparse.Namespace) -> int:
    """Run the command ``args`` chose; problems to fix first go to standard error (exit 2)."""
    chosen: _Chosen = args.dispatch
    run = chosen.command.run
    if run is None:  # pragma: no cover - build_parser sets dispatch on leaves only
        raise AssertionError(f"{chosen.prog} has nothing to run")
    try:
        return run(args)
    except CommandError as exc:
        print(f"{chosen.prog}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return EXIT_INTERRUPTED
