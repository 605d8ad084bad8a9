"""report.py: every decision row from constructed histories, the trend/plateau definitions, the CLI."""

import json

import pytest

from drumscribe.cli import main
from drumscribe.evaluation.report import decide, loss_trend


def hist(losses):
    return [{"epoch": i, "train_loss": l + 0.05, "val_loss": l} for i, l in enumerate(losses)]


def ev(f1, recalls=(0.5, 0.5, 0.5)):
    per = {n: {"recall": r, "support": 10} for n, r in zip(("kick", "snare", "hihat"), recalls)}
    return {"micro": {"f1": f1}, "per_class": per}


DECREASING = [0.40, 0.33, 0.29, 0.26, 0.24, 0.22, 0.21, 0.20, 0.19, 0.18]
FLAT = [0.40, 0.30, 0.25, 0.250, 0.249, 0.251, 0.249, 0.250, 0.250, 0.249]
RISING = [0.30, 0.28, 0.29, 0.31, 0.33]
NOT_DECREASING = [0.30, 0.31, 0.30, 0.31, 0.32]


@pytest.mark.parametrize("losses,f1,row", [
    (DECREASING, 0.45, "good_progress"),
    (DECREASING, 0.30, "slow_learning"),  # 0.30 is not > 0.30
    (DECREASING, 0.15, "slow_learning"),
    (FLAT, 0.45, "plateaued"),  # plateau wins over a good F1 ("Any")
    (FLAT, 0.20, "plateaued"),
    (NOT_DECREASING, 0.05, "not_learning"),
    (FLAT, 0.05, "plateaued"),  # FLAT falls overall (slope < 0, last < first): the plateau rule decides
    (DECREASING, 0.10, "slow_learning"),  # uncovered: F1 < 0.15 but decreasing
    (RISING, 0.40, "plateaued"),  # uncovered: good F1, loss rising
    ([0.3], 0.5, "plateaued"),  # one epoch: no trend measurable
])
def test_decision_rows(losses, f1, row):
    assert decide(hist(losses), ev(f1)).row == row


def test_every_row_is_reachable():
    rows = {decide(hist(h), ev(f)).row for h, f in
            [(DECREASING, 0.5), (DECREASING, 0.2), (FLAT, 0.5), (NOT_DECREASING, 0.05)]}
    assert rows == {"good_progress", "slow_learning", "plateaued", "not_learning"}


def test_trend_definitions():
    t = loss_trend(DECREASING)
    assert t.decreasing and t.slope < 0 and not t.plateaued
    # last < first is required even when the fit slopes down
    assert not loss_trend([0.3, 0.1, 0.1, 0.1, 0.31]).decreasing
    # plateau: best of the last 5 within 1 % of the earlier best
    assert loss_trend(FLAT).plateaued
    assert not loss_trend([0.4, 0.3, 0.25, 0.25, 0.25, 0.25, 0.25, 0.2474]).plateaued  # 1.04 % better
    assert loss_trend([0.4, 0.3, 0.25, 0.25, 0.25, 0.25, 0.25, 0.2476]).plateaued  # 0.96 % better
    assert not loss_trend([0.3, 0.3, 0.3, 0.3, 0.3]).plateaued  # needs 6 epochs
    assert loss_trend([]).n_epochs == 0 and not loss_trend([]).decreasing
    # empty cells are skipped
    rows = hist(DECREASING) + [{"epoch": 10, "val_loss": ""}]
    assert decide(rows, ev(0.5)).trend.n_epochs == 10


def test_criteria_values():
    d = decide(hist(DECREASING), ev(0.26, (0.31, 0.30, 0.9)), expected_epochs=10, midi_notes=0)
    c = {x.name: x for x in d.criteria}
    assert c["training finished all configured epochs"].passed is True
    assert c["validation loss < 0.20 (best epoch)"].passed and c["validation loss < 0.20 (best epoch)"].value == 0.18
    assert c["overall F1 > 0.25 (micro)"].passed
    assert c["kick recall > 0.30"].passed and not c["snare recall > 0.30"].passed
    assert c["inference produced a non-empty MIDI file"].passed is False
    d = decide(hist(DECREASING[:4]), ev(0.2), expected_epochs=10)
    c = {x.name: x for x in d.criteria}
    assert c["training finished all configured epochs"].passed is False
    assert c["inference produced a non-empty MIDI file"].passed is None
    assert not c["validation loss < 0.20 (best epoch)"].passed


def test_report_cli(tmp_path, capsys):
    import csv

    run = tmp_path / "run"
    run.mkdir()
    with open(run / "metrics_history.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["epoch", "step", "train_loss", "val_loss", "val_f1_micro"])
        w.writeheader()
        for r in hist(DECREASING):
            w.writerow({**r, "step": 10 * r["epoch"], "val_f1_micro": 0.3})
    (run / "eval_results.json").write_text(json.dumps(ev(0.45)))
    from drumscribe.dataset.toy import write_midi

    write_midi(run / "t.mid", [(0.5, 36, 100)])
    out = tmp_path / "d.json"
    assert main(["report", "--run", str(run), "--epochs", "10", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Good progress" in text and "Proceed to full training" in text
    d = json.loads(out.read_text())
    assert d["row"] == "good_progress" and all(c["passed"] for c in d["criteria"])
    assert main(["report", "--history", str(run / "metrics_history.csv")]) == 2
    assert main(["report", "--eval", str(run / "metrics_history.csv"), "--history", str(run / "x.csv")]) == 2
