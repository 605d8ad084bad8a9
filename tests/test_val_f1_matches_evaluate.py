"""`val_f1` in metrics_history.csv means exactly what `drumscribe evaluate --split val` prints.

Train the tiny toy cache for one epoch (thresholds left as the config's: --no-tune), then evaluate the
last checkpoint on the validation split: the micro and macro F1 of the printed table and of the JSON
equal the history's last row.  Run twice: files that fit one inference window (validation reuses its
forward pass) and inference windows shorter than the files (validation stitches windows as evaluate does).
"""

import json
import re
import sys
from pathlib import Path

import pytest
import torch

from drumscribe.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from train_helpers import CONFIGS, FAST_AUDIO, TINY_MODEL, build_toy_cache, read_history  # noqa: E402

torch.set_num_threads(1)

# one epoch of the tiny model leaves activations low: 0.1 gives a score that is neither 0 nor 1
TRAIN = ["logging.logger=none", "training.precision=32", "training.window_seconds=1.0", "training.batch_size=2", "training.num_epochs=1",
         "training.learning_rate=0.01", "training.scheduler=none", "postprocessing.onset_threshold=0.1"]


def _printed(out: str, row: str) -> tuple[float, float, float]:
    """(precision, recall, F1) of the first table's ``row`` ("micro"/"macro") in evaluate's printout."""
    m = re.search(rf"{row}\s*│\s*([\d.]+)\s*│\s*([\d.]+)\s*│\s*([\d.]+)\s*│", out)
    assert m, out
    return tuple(float(x) for x in m.groups())


@pytest.mark.parametrize("window_s", [None, 1.0], ids=["one-window", "stitched-windows"])
def test_history_val_f1_equals_evaluate_on_val(tmp_path, capsys, monkeypatch, window_s):
    if window_s is not None:
        import drumscribe.transcription.inference as inf

        monkeypatch.setattr(inf, "DEFAULT_WINDOW_S", window_s)  # 3-s files -> 4 windows of 1 s
        monkeypatch.setattr(inf, "DEFAULT_OVERLAP_S", 0.4)
    ov = build_toy_cache(tmp_path, FAST_AUDIO + TINY_MODEL, n_performances=3, seconds=3.0)
    sets = [a for o in ov + TRAIN for a in ("--set", o)]
    assert main(["train", "--config", str(CONFIGS["test_config"]), "--no-progress", "--threads", "0", *sets]) == 2
    assert main(["train", "--config", str(CONFIGS["test_config"]), "--no-progress", "--no-tune", "--threads", "2",
                 *sets]) == 0
    assert torch.get_num_threads() == 2  # --threads N sets torch's CPU threads
    torch.set_num_threads(1)
    rows = read_history(tmp_path / "logs" / "quick-test-2epoch-20files" / "metrics_history.csv")
    assert len(rows) == 1
    last = rows[-1]
    capsys.readouterr()
    out_json = tmp_path / "val.json"
    assert main(["evaluate", "--checkpoint", str(tmp_path / "ckpt" / "test-last.ckpt"), "--split", "val",
                 "--output", str(out_json)]) == 0
    printed = capsys.readouterr().out
    res = json.loads(out_json.read_text())
    assert res["thresholds"] == {n: 0.1 for n in res["class_names"]}  # the thresholds validation used
    assert res["micro"]["tp"] > 0 and res["micro"]["fp"] > 0 and res["micro"]["fn"] > 0  # not a trivial 0 or 1
    for key, hist in (("micro", "val_f1_micro"), ("macro", "val_f1_macro")):
        assert f"{res[key]['f1']:.6g}" == last[hist], (key, res[key], last)
        assert _printed(printed, key)[2] == pytest.approx(float(last[hist]), abs=5e-4)
    assert f"{res['micro']['precision']:.6g}" == last["val_precision_micro"]
    assert f"{res['micro']['recall']:.6g}" == last["val_recall_micro"]
    for name, d in res["per_class"].items():
        assert f"{d['f1']:.6g}" == last[f"f1_{name}"], name
