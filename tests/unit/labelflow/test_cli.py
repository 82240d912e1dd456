"""`labelflow consolidate`: the command line end to end, on small files."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from consolidation import CLASSIFICATION_METHODS
from labelflow.cli import main

# crowd-kit's toy crowd: five workers, five items.
TOY_CSV = """\
question,worker,answer
t1,w1,no
t1,w2,yes
t1,w3,yes
t1,w4,yes
t1,w5,yes
t2,w1,yes
t2,w2,yes
t2,w3,no
t2,w4,yes
t2,w5,no
t3,w1,yes
t3,w2,no
t3,w3,no
t3,w4,yes
t3,w5,no
"""
TOY_MAJORITY = [
    ["question", "label", "confidence"],
    ["t1", "yes", "0.8000"],
    ["t2", "yes", "0.6000"],
    ["t3", "no", "0.6000"],
]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _consolidate(tmp_path: Path, answers: str, *args: str) -> tuple[int, list[list[str]]]:
    """Run the command on ``answers`` (CSV text) and return the exit code and output rows."""
    source = _write(tmp_path / "answers.csv", answers)
    output = tmp_path / "labels.csv"
    code = main(["consolidate", str(source), "-o", str(output), *args])
    rows = _rows(output.read_text(encoding="utf-8")) if output.exists() else []
    return code, rows


def test_cli_consolidate_writes_one_row_per_item_with_label_and_confidence(tmp_path, capsys):
    code, rows = _consolidate(tmp_path, TOY_CSV)

    assert code == 0
    assert rows[0] == ["question", "label", "confidence"]
    assert [row[0] for row in rows[1:]] == ["t1", "t2", "t3"]
    for _, label, confidence in rows[1:]:
        assert label in {"yes", "no"}
        assert 0.0 <= float(confidence) <= 1.0
        assert len(confidence.split(".")[1]) == 4
    summary = capsys.readouterr().err
    # The summary names the shrinkage and temperature the run chose.
    assert "3 items from 15 answers by 5 workers, auto (shrinkage " in summary


def test_cli_consolidate_majority_vote_gives_the_vote_shares(tmp_path, capsys):
    code, rows = _consolidate(tmp_path, TOY_CSV, "--method", "majority-vote")

    assert code == 0
    assert rows == TOY_MAJORITY
    assert ", majority-vote, " in capsys.readouterr().err


@pytest.mark.parametrize("method", sorted(CLASSIFICATION_METHODS))
def test_cli_consolidate_runs_every_method(tmp_path, capsys, method):
    code, rows = _consolidate(tmp_path, TOY_CSV, "--method", method)

    assert code == 0
    assert [row[0] for row in rows] == ["question", "t1", "t2", "t3"]
    chose = method in {"auto", "hierarchical-dawid-skene"}
    shown = f"{method} (shrinkage " if chose else f"{method}, mean confidence "
    assert f" workers, {shown}" in capsys.readouterr().err


def test_cli_consolidate_unknown_method_exits_2_with_the_choices(tmp_path, capsys):
    code, rows = _consolidate(tmp_path, TOY_CSV, "--method", "median")

    assert code == 2
    assert rows == []
    err = capsys.readouterr().err
    assert err.startswith("labelflow consolidate: error: unknown method 'median'")
    for name in CLASSIFICATION_METHODS:
        assert name in err


def test_cli_consolidate_param_reaches_the_method(tmp_path, capsys):
    code, _ = _consolidate(
        tmp_path, TOY_CSV, "--method", "dawid-skene", "--param", "max-iter=1", "--param", "tol=0"
    )

    assert code == 0
    code, _ = _consolidate(tmp_path, TOY_CSV, "--method", "dawid-skene", "--param", "max_iter=0")
    assert code == 2
    assert "max_iter must be >= 1" in capsys.readouterr().err


def test_cli_consolidate_unknown_param_exits_2(tmp_path, capsys):
    code, _ = _consolidate(tmp_path, TOY_CSV, "--method", "majority-vote", "--param", "rounds=3")

    assert code == 2
    assert "bad parameters for method 'majority-vote'" in capsys.readouterr().err


def test_cli_consolidate_malformed_param_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        _consolidate(tmp_path, TOY_CSV, "--param", "smoothing")

    assert info.value.code == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_cli_consolidate_workers_out_writes_each_workers_skill(tmp_path):
    workers_out = tmp_path / "workers.json"

    code, _ = _consolidate(
        tmp_path, TOY_CSV, "--method", "dawid-skene", "--workers-out", str(workers_out)
    )

    assert code == 0
    document = json.loads(workers_out.read_text(encoding="utf-8"))
    assert document["method"] == "dawid-skene"
    assert document["labels"] == ["no", "yes"]
    assert [w["worker"] for w in document["workers"]] == ["w1", "w2", "w3", "w4", "w5"]
    for worker in document["workers"]:
        assert set(worker) == {"worker", "answers", "accuracy", "confusion"}
        assert worker["answers"] == 3
        assert 0.0 <= worker["accuracy"] <= 1.0
        assert set(worker["confusion"]) == {"no", "yes"}
        for row in worker["confusion"].values():
            assert set(row) == {"no", "yes"}
            assert sum(row.values()) == pytest.approx(1.0, abs=1e-3)


def test_cli_consolidate_majority_vote_workers_out_has_no_confusion(tmp_path):
    workers_out = tmp_path / "workers.json"

    _consolidate(tmp_path, TOY_CSV, "--method", "majority-vote", "--workers-out", str(workers_out))

    document = json.loads(workers_out.read_text(encoding="utf-8"))
    assert document["workers"][0] == {"worker": "w1", "answers": 3, "accuracy": 0.3333}


def test_cli_consolidate_prior_round_trip_decides_a_balanced_item(tmp_path):
    # Job 1: w2 agrees with the crowd everywhere; w1 says "cat" whatever the item shows.
    truth = ["cat", "dog"] * 6
    history = "question,worker,answer\n" + "".join(
        f"h{i},w1,cat\nh{i},w2,{t}\nh{i},w3,{t}\nh{i},w4,{t}\n" for i, t in enumerate(truth)
    )
    workers_out = tmp_path / "workers.json"
    code, _ = _consolidate(tmp_path, history, "--workers-out", str(workers_out))
    assert code == 0
    # Job 2: w1 and w2 disagree on a single item; only their history can decide it.
    balanced = "question,worker,answer\nq1,w1,cat\nq1,w2,dog\n"

    _, without = _consolidate(tmp_path, balanced)
    _, with_prior = _consolidate(tmp_path, balanced, "--prior", str(workers_out))

    assert without[1][:2] == ["q1", "cat"]
    assert with_prior[1][:2] == ["q1", "dog"]
    assert float(with_prior[1][2]) > 0.9


def test_cli_consolidate_prior_accepts_a_plain_list_of_workers(tmp_path):
    prior = _write(tmp_path / "prior.json", json.dumps([{"worker": "w2", "accuracy": 0.95}]))

    code, rows = _consolidate(
        tmp_path,
        "question,worker,answer\nq1,w1,cat\nq1,w2,dog\n",
        "--method",
        "weighted-vote",
        "--prior",
        str(prior),
    )

    assert code == 0
    assert rows[1][:2] == ["q1", "dog"]


@pytest.mark.parametrize(
    "document",
    [
        '{"workers": [{"accuracy": 0.9}]}',
        "[1, 2]",
        "not json",
        '{"method": "x"}',
        '[{"worker": "w1", "accuracy": NaN}]',
        '[{"worker": "w1", "accuracy": 1.5}]',
    ],
)
def test_cli_consolidate_bad_prior_file_exits_2(tmp_path, capsys, document):
    prior = _write(tmp_path / "prior.json", document)

    code, _ = _consolidate(tmp_path, TOY_CSV, "--prior", str(prior))

    assert code == 2
    assert "not a workers file written by --workers-out" in capsys.readouterr().err


def test_cli_consolidate_gold_items_keep_their_label_with_confidence_one(tmp_path):
    gold = _write(tmp_path / "gold.csv", "question,label\nt1,no\n t3 , yes \n")

    code, rows = _consolidate(tmp_path, TOY_CSV, "--gold", str(gold))

    assert code == 0
    by_item = {row[0]: row[1:] for row in rows[1:]}
    assert by_item["t1"] == ["no", "1.0000"]
    assert by_item["t3"] == ["yes", "1.0000"]


def test_cli_consolidate_gold_label_outside_the_labels_exits_2(tmp_path, capsys):
    gold = _write(tmp_path / "gold.csv", "question,label\nt2,maybe\n")

    code, _ = _consolidate(tmp_path, TOY_CSV, "--gold", str(gold))

    assert code == 2
    assert "item 't2': gold label 'maybe'" in capsys.readouterr().err


def test_cli_consolidate_malformed_gold_names_the_line(tmp_path, capsys):
    gold = _write(tmp_path / "gold.csv", "question,label\nt1,no\nt2\n")

    code, _ = _consolidate(tmp_path, TOY_CSV, "--gold", str(gold))

    assert code == 2
    assert "gold.csv: line 3: expected item,label" in capsys.readouterr().err


def test_cli_consolidate_tie_policy_no_consensus_leaves_the_label_empty(tmp_path, capsys):
    answers = "question,worker,answer\nq1,w1,cat\nq1,w2,dog\nq2,w1,cat\nq2,w2,cat\n"

    _, lowest = _consolidate(tmp_path, answers, "--method", "majority-vote")
    _, refused = _consolidate(
        tmp_path, answers, "--method", "majority-vote", "--tie-policy", "no_consensus"
    )

    assert lowest[1] == ["q1", "cat", "0.5000"]
    assert refused[1] == ["q1", "", "0.0000"]
    assert refused[2] == lowest[2] == ["q2", "cat", "1.0000"]
    err = capsys.readouterr().err
    assert "1 items without consensus:" in err
    assert "q1: tie between the top labels" in err


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("refuse", ["q1", "", "0.0000"]),
        ("first", ["q1", "dog", "1.0000"]),
        ("last", ["q1", "cat", "1.0000"]),
    ],
)
def test_cli_consolidate_on_duplicate_policy(tmp_path, policy, expected):
    answers = "question,worker,answer\nq1,w1,dog\nq1,w1,cat\nq2,w2,cat\n"

    code, rows = _consolidate(
        tmp_path, answers, "--method", "majority-vote", "--on-duplicate", policy
    )

    assert code == 0
    assert sorted(rows[1:]) == sorted([expected, ["q2", "cat", "1.0000"]])


def test_cli_consolidate_workers_out_carries_skill_from_run_to_run(tmp_path):
    first = "question,worker,answer\nq1,w1,cat\nq1,w2,cat\nq2,w1,dog\nq2,w2,dog\n"
    second = "question,worker,answer\nq3,w1,cat\nq3,w3,cat\n"
    after_first, after_second = tmp_path / "after1.json", tmp_path / "after2.json"

    _consolidate(tmp_path, first, "--workers-out", str(after_first))
    _consolidate(tmp_path, second, "--prior", str(after_first), "--workers-out", str(after_second))

    workers = {w["worker"]: w for w in json.loads(after_second.read_text())["workers"]}
    assert {name: w["answers"] for name, w in workers.items()} == {"w1": 3, "w2": 2, "w3": 1}
    w1_counts = sum(n for row in workers["w1"]["counts"].values() for n in row.values())
    assert w1_counts == pytest.approx(3.0, abs=1e-3)


def test_cli_consolidate_declared_labels_refuse_unknown_answers(tmp_path, capsys):
    answers = "question,worker,answer\nq1,w1,cat\nq2,w1,zebra\n"

    code, rows = _consolidate(tmp_path, answers, "--labels", "cat, dog")

    assert code == 0
    assert rows[1][:2] == ["q1", "cat"]
    assert 0.5 < float(rows[1][2]) < 1.0
    assert rows[2] == ["q2", "", "0.0000"]
    assert "q2: unknown label 'zebra'" in capsys.readouterr().err


def test_cli_consolidate_every_item_refused_still_writes_every_item(tmp_path, capsys):
    answers = "question,worker,answer\nq1,w1,cat\nq1,w1,dog\nq2,w2,cat\nq2,w2,cat\n"

    code, rows = _consolidate(
        tmp_path, answers, "--method", "majority-vote", "--on-duplicate", "refuse"
    )

    assert code == 0
    assert rows[1:] == [["q1", "", "0.0000"], ["q2", "", "0.0000"]]
    assert "2 items without consensus:" in capsys.readouterr().err


def test_cli_consolidate_lists_at_most_five_items_without_consensus(tmp_path, capsys):
    answers = "question,worker,answer\n" + "".join(f"q{i},w1,a\nq{i},w1,b\n" for i in range(7))

    code, _ = _consolidate(tmp_path, answers, "--on-duplicate", "refuse")

    assert code == 0
    err = capsys.readouterr().err
    assert "7 items without consensus:" in err
    assert err.count("answered more than once") == 5
    assert "... and 2 more" in err


def test_cli_consolidate_custom_columns_name_the_output_item_column(tmp_path):
    answers = "image,annotator,class,comment\na.jpg,x,cat,fine\na.jpg,y,cat,\n"

    code, rows = _consolidate(
        tmp_path,
        answers,
        "--item-col",
        "image",
        "--worker-col",
        "annotator",
        "--label-col",
        "class",
    )

    assert code == 0
    assert rows[0] == ["image", "label", "confidence"]
    assert rows[1][:2] == ["a.jpg", "cat"]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ("question,worker,answer\nq1,w1,cat\nq2,w2\n", "line 3: expected 3 fields, found 2"),
        ("question,worker,answer\n", "no answers to consolidate"),
        ("item,worker,answer\nq1,w1,cat\n", "no column 'question'"),
        ("", "the file is empty"),
    ],
    ids=["ragged", "header-only", "missing-column", "empty"],
)
def test_cli_consolidate_bad_input_exits_2_naming_the_problem(tmp_path, capsys, answers, message):
    code, rows = _consolidate(tmp_path, answers)

    assert code == 2
    assert rows == []
    err = capsys.readouterr().err
    assert err.startswith("labelflow consolidate: error: ")
    assert "answers.csv" in err
    assert message in err


def test_cli_consolidate_missing_input_exits_2(tmp_path, capsys):
    code = main(["consolidate", str(tmp_path / "nope.csv")])

    assert code == 2
    assert "nope.csv: no such file or folder" in capsys.readouterr().err


def test_cli_consolidate_quiet_prints_no_summary(tmp_path, capsys):
    code, _ = _consolidate(tmp_path, TOY_CSV, "-q")

    assert code == 0
    assert capsys.readouterr().err == ""


def test_cli_consolidate_reads_stdin_and_writes_stdout(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(TOY_CSV.encode())))

    code = main(["consolidate", "-", "--method", "majority-vote", "-o", "-"])

    assert code == 0
    captured = capsys.readouterr()
    assert _rows(captured.out) == TOY_MAJORITY
    assert "3 items from 15 answers" in captured.err


def test_cli_consolidate_help_mentions_every_method(capsys):
    with pytest.raises(SystemExit) as info:
        main(["consolidate", "--help"])

    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in CLASSIFICATION_METHODS:
        assert name in out
    for option in ("--method", "--gold", "--prior", "--workers-out", "--tie-policy"):
        assert option in out


def test_cli_requires_a_command(capsys):
    with pytest.raises(SystemExit) as info:
        main([])

    assert info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def _worker_response(worker: str, label: str) -> dict[str, object]:
    return {
        "acceptanceTime": "2024-05-03T13:58:02.114Z",
        "answerContent": {"crowd-image-classifier": {"label": label}},
        "submissionTime": "2024-05-03T13:58:41.903Z",
        "timeSpentInSeconds": 12.5,
        "workerId": worker,
        "workerMetadata": {
            "identityData": {
                "identityProviderType": "Cognito",
                "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123",
                "sub": "3f1c2a9e-6b7d-4e21-9a55-0c8d7e6f1a2b",
            }
        },
    }


def test_cli_consolidate_reads_a_folder_of_worker_response_files(tmp_path, capsys):
    # Laid out as Ground Truth writes them:
    # <job>/annotations/worker-response/iteration-<n>/<datasetObjectId>/<timestamp>.json
    root = tmp_path / "job" / "annotations" / "worker-response"
    a, b, c = (f"private.us-east-1.{x * 16}" for x in "abc")
    answers = {
        ("iteration-1", "0"): [(a, "cat"), (b, "cat")],
        ("iteration-1", "1"): [(a, "dog"), (c, "dog")],
        ("iteration-2", "2"): [(b, "cat")],
    }
    for (iteration, item), responses in answers.items():
        folder = root / iteration / item
        folder.mkdir(parents=True)
        document = {"answers": [_worker_response(w, label) for w, label in responses]}
        (folder / "2024-05-03_13:58:41.json").write_text(json.dumps(document), encoding="utf-8")
    (root / "iteration-2" / "3").mkdir(parents=True)
    (root / "iteration-2" / "3" / "2024-05-03_14:00:00.json").write_text(
        json.dumps({"answers": [{"workerId": a, "answerContent": {}}]}),
        encoding="utf-8",
    )
    output = tmp_path / "labels.csv"

    code = main(["consolidate", str(root), "--method", "majority-vote", "-o", str(output)])

    assert code == 0
    rows = _rows(output.read_text(encoding="utf-8"))
    assert rows[1:] == [
        ["0", "cat", "1.0000"],
        ["1", "dog", "1.0000"],
        ["2", "cat", "1.0000"],
        ["3", "", "0.0000"],
    ]
    assert f"3: worker '{a}'" in capsys.readouterr().err


def test_cli_console_script_runs_as_a_module(tmp_path):
    source = _write(tmp_path / "answers.csv", TOY_CSV)

    completed = subprocess.run(
        [sys.executable, "-m", "labelflow", "consolidate", str(source), "--method=majority-vote"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr
    assert _rows(completed.stdout) == TOY_MAJORITY
    assert "3 items from 15 answers by 5 workers, majority-vote" in completed.stderr


def test_cli_consolidate_refuses_a_tie_policy_given_twice(tmp_path, capsys):
    code, rows = _consolidate(
        tmp_path, TOY_CSV, "--tie-policy", "no_consensus", "--param", "tie_policy=lowest_label"
    )

    assert code == 2
    assert rows == []
    assert "give the tie policy once" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["dawid-skene", "one-coin-dawid-skene", "weighted-vote"])
def test_cli_consolidate_refuses_a_nan_hyperparameter(tmp_path, capsys, method):
    code, _ = _consolidate(tmp_path, TOY_CSV, "--method", method, "--param", "smoothing=nan")

    assert code == 2
    assert "finite" in capsys.readouterr().err
