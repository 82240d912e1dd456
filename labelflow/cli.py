"""The `labelflow` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from labelflow.options import (
    EXIT_OK,
    Command,
    CommandError,
    at_least_one,
    build_parser,
    dispatch,
    fraction,
    key_value,
    positive_seconds,
    stage_option,
)

if TYPE_CHECKING:
    from consolidation.answers import DuplicatePolicy

__all__ = ["commands", "main"]

_EXAMPLES = """\
examples:
  labelflow demo                              a whole labeling job on this machine
  labelflow local up                          the stack in a local emulator, until Ctrl-C
  labelflow submit pets batch.jsonl --wait    label a manifest and follow it to the end
  labelflow status                            recent jobs: lines read, labeled, rejected
  labelflow consolidate answers.csv -o labels.csv
  labelflow COMMAND --help                    a command's options, with examples

exit codes: 0 done, 1 the job failed, 2 a problem to fix first (the message says which)
"""

_CONSOLIDATE_HELP = """\
Turn several workers' answers per item into one label per item, with a confidence.

Input is a CSV with one row per worker answer (header question,worker,answer; other column
names with --item-col/--worker-col/--label-col), '-' for standard input, or a folder of
Ground Truth worker-response files (annotations/worker-response/...). Output is a CSV with one
row per item: the item column, label, confidence. A worker who answered an item twice counts
once, with the last answer (--on-duplicate). Items without consensus (a tie under --tie-policy
no_consensus, an unreadable answer) get an empty label and confidence 0; the reasons are listed
on standard error. Skill carries from run to run: --workers-out writes every worker's evidence
so far (this run's plus --prior's), and the next run reads it with --prior.
"""

_CONSOLIDATE_EPILOG = """\
methods:
  auto                  default: hierarchical-dawid-skene, its shrinkage chosen by empirical
                        Bayes and its confidence calibrated on held-out items of the run
  hierarchical-dawid-skene
                        per-worker confusion matrices shrunk toward the crowd's
  dawid-skene           EM over per-worker confusion matrices (textbook, lightly smoothed)
  one-coin-dawid-skene  EM with one accuracy per worker (few answers per worker)
  weighted-vote         votes weighted by leave-one-out agreement with peers
  majority-vote         plain vote; confidence = share of workers agreeing

examples:
  labelflow consolidate answers.csv -o labels.csv
  labelflow consolidate answers.csv --method majority-vote --workers-out workers.json
  labelflow consolidate answers.csv --gold gold.csv --prior workers.json -o labels.csv
  labelflow consolidate batch2.csv --prior after1.json --workers-out after2.json -o b2.csv
  labelflow consolidate s3-copy/annotations/worker-response -o labels.csv
  cut -d, -f1-3 raw.csv | labelflow consolidate - | sort -t, -k3 -n | head
"""


_DEMO_HELP = """\
Start the local AWS emulator and a local Label Studio, deploy LabelFlow into the emulator, drop
a manifest of handwritten-digit scans into the intake bucket, let simulated annotators answer
in Label Studio (or you, with --interactive), and print where the output manifest, exports and
report are, with the accuracy against the known digits. Everything it starts, it stops.
"""

_DEMO_EPILOG = """\
examples:
  labelflow demo                          60 scans, 5 annotators, 3 answers each
  labelflow demo --items 200 --accuracy 0.7
  labelflow demo --interactive            label the scans yourself in a browser
  labelflow demo --replay --items 30      replay real crowd answers (duck set)
  labelflow demo --consolidation          the consolidation methods on real crowd answers
"""

_PREVIEW_HELP = """\
Show what a worker sees for one manifest line of a project, before any job runs.

The project is read from the stage's configuration (infra/config.py); the line goes through
the same pre-annotation logic as in a labeling job, and the project's Ground Truth template
(crowd elements, instructions, examples, keyboard shortcuts) is rendered with Ground Truth's
Liquid filters into a page to open in a browser. The crowd elements load from
assets.crowd.aws when online; offline, the page still shows the item, the labels with their
keys, the instructions and the examples. With --prediction and --confidence, shows the A2I
review template instead, the model's prediction pre-filled. With --label-studio, writes the
project's Label Studio labeling config (XML).

The line is a file holding one manifest line (a JSON object with "source-ref" or "source"),
a JSON-lines manifest (its first line is used), or '-' for standard input.
"""

_PREVIEW_EPILOG = """\
examples:
  labelflow preview pets line.json -o preview.html
  echo '{"source-ref": "s3://my-bucket/cat.jpg"}' | labelflow preview pets - -o pets.html
  labelflow preview pets line.json --prediction '{"label": "dog"}' --confidence 0.58
  labelflow preview street-objects --label-studio -o street-objects.xml
  labelflow preview notes line.json --label-studio   # free text: the line picks image or text
"""


_DUPLICATE_POLICIES: dict[str, DuplicatePolicy] = {
    "last": "keep_last",
    "first": "keep_first",
    "refuse": "no_consensus",
}


def _consolidate_arguments(cons: argparse.ArgumentParser) -> None:
    cons.add_argument("answers", help="answers CSV, '-' for stdin, or a worker-response folder")
    cons.add_argument("-o", "--output", default="-", help="labels CSV to write (default: stdout)")
    cons.add_argument("--method", default="auto", help="consolidation method (default: auto)")
    cons.add_argument(
        "--param",
        action="append",
        type=key_value,
        default=[],
        metavar="KEY=VALUE",
        help="method hyperparameter, e.g. --param smoothing=0.1 (repeatable)",
    )
    cons.add_argument("--item-col", default="question", help="item column (default: question)")
    cons.add_argument("--worker-col", default="worker", help="worker column (default: worker)")
    cons.add_argument("--label-col", default="answer", help="answer column (default: answer)")
    cons.add_argument(
        "--labels", help="comma-separated declared labels; answers outside them are refused"
    )
    cons.add_argument(
        "--on-duplicate",
        choices=tuple(_DUPLICATE_POLICIES),
        default="last",
        help="a worker answering an item twice: count the last answer once (default), the "
        "first, or refuse the item",
    )
    cons.add_argument(
        "--tie-policy",
        choices=("lowest_label", "no_consensus"),
        default=None,
        help="exact ties: first label in order (default) or no consensus",
    )
    cons.add_argument(
        "--gold", help="CSV of known answers (header line, then item,label) that anchor skill"
    )
    cons.add_argument("--prior", help="worker skill from an earlier run (--workers-out file)")
    cons.add_argument(
        "--workers-out",
        help="write every worker's skill so far (this run's added to --prior's) as JSON here; "
        "the next run's --prior",
    )
    cons.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")


def _consolidate(args: argparse.Namespace) -> int:
    from consolidation import ConsolidationError
    from labelflow.answers_io import AnswersFileError
    from labelflow.consolidate import ConsolidateOptions, run_consolidate

    options = ConsolidateOptions(
        source=args.answers,
        output=args.output,
        method=args.method,
        params=dict(args.param),
        item_col=args.item_col,
        worker_col=args.worker_col,
        label_col=args.label_col,
        labels=[x.strip() for x in args.labels.split(",")] if args.labels else None,
        on_duplicate=_DUPLICATE_POLICIES[args.on_duplicate],
        tie_policy=args.tie_policy,
        gold=args.gold,
        prior=args.prior,
        workers_out=args.workers_out,
    )
    try:
        summary = run_consolidate(options)
    except (AnswersFileError, ConsolidationError) as exc:
        raise CommandError(str(exc)) from None
    if not args.quiet:
        print(
            f"{summary.items:,} items from {summary.answers:,} answers by {summary.workers:,} "
            f"workers, {summary.method}, mean confidence {summary.mean_confidence:.3f}, "
            f"{summary.seconds:.2f} s",
            file=sys.stderr,
        )
        if summary.no_consensus:
            print(f"{len(summary.no_consensus):,} items without consensus:", file=sys.stderr)
            for item, reason in list(summary.no_consensus.items())[:5]:
                print(f"  {item}: {reason}", file=sys.stderr)
            if len(summary.no_consensus) > 5:
                print(f"  ... and {len(summary.no_consensus) - 5:,} more", file=sys.stderr)
    return EXIT_OK


def _demo_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--out", default="demo-output", help="output folder (default: demo-output)")
    demo.add_argument("--items", type=at_least_one, default=60, help="scans to label (default: 60)")
    demo.add_argument(
        "--annotators", type=at_least_one, default=5, help="simulated annotators (default: 5)"
    )
    demo.add_argument(
        "--workers-per-item", type=at_least_one, default=3, help="answers per scan (default: 3)"
    )
    demo.add_argument(
        "--accuracy",
        type=fraction("accuracy"),
        default=0.85,
        help="chance that a simulated annotator picks the right digit (default: 0.85)",
    )
    demo.add_argument(
        "--interactive",
        action="store_true",
        help="no simulated annotators: label the scans yourself in Label Studio",
    )
    demo.add_argument(
        "--timeout",
        type=positive_seconds,
        default=600.0,
        help="seconds to wait for the job (default: 600)",
    )
    demo.add_argument(
        "--replay",
        action="store_true",
        help="answer with real recorded crowd answers (the duck set: items, not images, and "
        "each recorded worker as a Label Studio user) instead of simulated annotators",
    )
    demo.add_argument("--verbose", action="store_true", help="also print the functions' JSON logs")
    demo.add_argument(
        "--consolidation",
        action="store_true",
        help="instead, score every consolidation method on four real crowd data sets and run "
        "the Ground Truth Lambdas on an in-process S3",
    )


def _demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    if args.consolidation:
        from labelflow.demo import run_demo

        return run_demo(Path(args.out))
    from labelflow.demo_job import DemoOptions, run_job_demo
    from labelflow.pinned_node import use_pinned_node

    simulated = not (args.interactive or args.replay)
    if simulated and args.annotators < args.workers_per_item:
        raise CommandError(
            f"{args.annotators} annotators cannot give {args.workers_per_item} answers per "
            "scan (nobody answers a scan twice): raise --annotators or lower --workers-per-item"
        )
    use_pinned_node()  # the demo synthesizes its stage
    return run_job_demo(
        DemoOptions(
            out=Path(args.out),
            items=args.items,
            annotators=args.annotators,
            workers_per_item=args.workers_per_item,
            accuracy=args.accuracy,
            interactive=args.interactive,
            timeout=args.timeout,
            verbose=args.verbose,
            replay=args.replay,
        )
    )


def _preview_arguments(preview: argparse.ArgumentParser) -> None:
    preview.add_argument("project", help="project name, as configured for the stage")
    preview.add_argument(
        "line", nargs="?", help="manifest line file or '-' (optional with --label-studio)"
    )
    preview.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")
    preview.add_argument(
        "--label-studio", action="store_true", help="write the Label Studio config (XML)"
    )
    preview.add_argument(
        "--serve",
        action="store_true",
        help="open the Label Studio config, with the line as its task, in a local Label "
        "Studio (prints the address and login; Ctrl-C stops it)",
    )
    stage_option(preview, "to read projects from")
    preview.add_argument(
        "--prediction",
        metavar="JSON",
        help="a model prediction in the answer's shape: preview the review template",
    )
    preview.add_argument(
        "--confidence", type=float, help="the prediction's confidence, 0 to 1 (with --prediction)"
    )


def _preview(args: argparse.Namespace) -> int:
    from labelflow.pinned_node import use_pinned_node
    from labelflow.preview import PreviewError, PreviewOptions, run_preview

    options = PreviewOptions(
        project=args.project,
        line=args.line,
        output=args.output,
        label_studio=args.label_studio,
        stage=args.stage,
        prediction=args.prediction,
        confidence=args.confidence,
        serve=args.serve,
    )
    use_pinned_node()  # the stage's projects are read from the CDK app's configuration
    try:
        written = run_preview(options)
    except PreviewError as exc:
        raise CommandError(str(exc)) from None
    if written != "-":
        print(f"wrote {written}", file=sys.stderr)
    return EXIT_OK


def commands() -> tuple[Command, ...]:
    """Every `labelflow` command, in the order ``--help`` lists them."""
    from labelflow.jobs_cli import COMMANDS as JOB_COMMANDS

    return (
        Command(
            name="consolidate",
            help="consolidate worker answers into one label per item",
            description=_CONSOLIDATE_HELP,
            examples=_CONSOLIDATE_EPILOG,
            arguments=_consolidate_arguments,
            run=_consolidate,
        ),
        Command(
            name="demo",
            help="run a complete labeling job on this machine, through a local Label Studio",
            description=_DEMO_HELP,
            examples=_DEMO_EPILOG,
            arguments=_demo_arguments,
            run=_demo,
        ),
        Command(
            name="preview",
            help="render a project's worker UI for one manifest line",
            description=_PREVIEW_HELP,
            examples=_PREVIEW_EPILOG,
            arguments=_preview_arguments,
            run=_preview,
        ),
        *JOB_COMMANDS,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `labelflow` console script."""
    parser = build_parser(
        commands(),
        description="LabelFlow: data labeling on AWS with consolidation that beats crowd-kit.",
        examples=_EXAMPLES,
    )
    return dispatch(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
