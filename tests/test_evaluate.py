"""`drumscribe evaluate` / `tune` end to end on a tiny cache with a tiny checkpoint."""

import json

import numpy as np
import pytest
import torch

from drumscribe.cli import main

from eval_helpers import SMALL, fake_checkpoint

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, toy_root):
    from drumscribe.core.config import load_config
    from drumscribe.dataset.preprocess import run_preprocess

    from conftest import CONFIGS, path_overrides

    work = tmp_path_factory.mktemp("eval")
    cfg = load_config(CONFIGS / "medium_test_config.yaml", path_overrides(toy_root, work) + SMALL)
    run_preprocess(cfg, progress=False, log=lambda *a: None)
    ckpt = fake_checkpoint(work / "m.ckpt", cfg)
    return cfg, ckpt, work


def test_evaluate_end_to_end_json(setup, toy_root, capsys):
    cfg, ckpt, work = setup
    out = work / "results.json"
    rc = main(["evaluate", "--checkpoint", str(ckpt), "--split", "test", "--output", str(out),
               "--plot", str(work / "plots"), "--plot-files", "1"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "micro" in text and "macro" in text and "5-class" in text and "Frame level" in text
    r = json.loads(out.read_text())
    for key in ("per_class", "micro", "macro", "five_class", "frame", "files", "checkpoint", "thresholds",
                "tolerance", "class_names", "n_files", "split"):
        assert key in r
    assert r["checkpoint"] == str(ckpt) and r["tolerance"] == 0.05 and r["n_files"] == len(r["files"]) >= 1
    assert list(r["per_class"]) == cfg.class_names
    assert sum(d["support"] for d in r["per_class"].values()) == r["micro"]["support"] > 0
    assert r["five_class"]["micro"]["support"] == r["micro"]["support"]
    assert len(list((work / "plots").glob("*.png"))) >= 1


def test_evaluate_scores_match_direct_decoding(setup):
    """The command's numbers equal decoding + mir_eval on the same activations."""
    import mir_eval

    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.transcription.decoding import DecodeSettings, decode, events_by_class
    from drumscribe.evaluation.evaluate import cache_items, evaluate_predictions, predict_items

    cfg, ckpt, _ = setup
    bundle = load_bundle(ckpt)
    preds = predict_items(bundle, cache_items(cfg, "test"))
    res = evaluate_predictions(preds, cfg, cfg.class_names, [0.3] * cfg.n_classes)
    tp = n_ref = n_est = 0
    for p in preds:
        est = events_by_class(decode(p.onset_probs, DecodeSettings.from_config(cfg, [0.3] * cfg.n_classes)), cfg.n_classes)
        for c in range(cfg.n_classes):
            ref = np.sort(p.item.note_times[p.item.note_classes == c])
            if ref.size and est[c].size:
                tp += len(mir_eval.util.match_events(ref, est[c], 0.05))
            n_ref += ref.size
            n_est += est[c].size
    assert (res["micro"]["tp"], res["micro"]["support"], res["micro"]["tp"] + res["micro"]["fp"]) == (tp, n_ref, n_est)


def test_evaluate_folder_and_tolerance(setup, toy_root, tmp_path):
    _, ckpt, _ = setup
    out = tmp_path / "r.json"
    assert main(["evaluate", "--checkpoint", str(ckpt), "--split", str(toy_root / "drummer1"),
                 "--tolerance", "0.03", "--threshold", "0.4", "--output", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["source"] == "folder" and r["tolerance"] == 0.03 and set(r["thresholds"].values()) == {0.4}
    assert r["n_files"] == 4  # drummer1 holds 2 performances x 2 kits


def test_evaluate_with_config_and_errors(setup, tmp_path, capsys):
    cfg, ckpt, work = setup
    from conftest import CONFIGS, path_overrides

    ov = []
    for o in path_overrides(cfg.data.egmd_root, work):
        ov += ["--set", o]
    for o in SMALL:
        ov += ["--set", o]
    assert main(["evaluate", "--checkpoint", str(ckpt), "--config", str(CONFIGS / "medium_test_config.yaml"),
                 *ov, "--split", "val"]) == 0
    # a config with other features cannot be used with this model
    assert main(["evaluate", "--checkpoint", str(ckpt), "--config", str(CONFIGS / "medium_test_config.yaml"),
                 *ov, "--set", "audio.hop_length=256"]) == 2
    assert "audio" in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", str(tmp_path / "none.ckpt")]) == 2
    assert main(["evaluate", "--checkpoint", str(ckpt), "--split", "nonsense"]) == 2


def test_tune_stores_thresholds(setup, tmp_path):
    import shutil

    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.evaluation.evaluate import cache_items
    from drumscribe.evaluation.tuning import tune_thresholds

    cfg, ckpt, _ = setup
    mine = tmp_path / "t.ckpt"
    shutil.copy(ckpt, mine)
    th = tune_thresholds(load_bundle(mine), cache_items(cfg, "val"))
    assert len(th) == cfg.n_classes and all(0 < t < 1 for t in th)
    assert main(["tune", "--checkpoint", str(mine), "--dry-run"]) == 0
    assert load_bundle(mine).thresholds == [0.5] * cfg.n_classes
    assert main(["tune", "--checkpoint", str(mine)]) == 0
    assert load_bundle(mine).thresholds == pytest.approx(th)


def test_tune_stores_the_decoding_the_thresholds_were_tuned_with(setup, tmp_path, capsys):
    """Thresholds tuned under other decoding rules (``--set postprocessing.exclusive_groups=...``) are
    saved together with those rules, so the model decodes as it was tuned; tuning under the model's
    own rules leaves them as they were."""
    import shutil

    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.transcription.decoding import DecodeSettings

    cfg, ckpt, _ = setup
    mine = tmp_path / "g.ckpt"
    shutil.copy(ckpt, mine)
    assert load_bundle(mine).config.postprocessing.exclusive_groups == []
    sets = ["--set", "postprocessing.exclusive_groups=[[hi_tom,mid_tom,low_tom]]",
            "--set", "postprocessing.exclusive_weights={mid_tom: 2}"]
    assert main(["tune", "--checkpoint", str(mine), *sets]) == 0
    assert "postprocessing.exclusive_groups" in capsys.readouterr().out
    b = load_bundle(mine)
    pp = b.config.postprocessing
    assert pp.exclusive_groups == [["hi_tom", "mid_tom", "low_tom"]] and pp.exclusive_weights == {"mid_tom": 2}
    s = DecodeSettings.from_config(b.config)
    assert s.exclusive_groups == ((3, 4, 5),) and s.group_weights((3, 4, 5)) == [1, 2, 1]
    # the exported model carries them too
    from drumscribe.training.checkpoint import export_bundle

    st, _ = export_bundle(mine, tmp_path / "shipped")
    assert load_bundle(st).config.postprocessing.exclusive_weights == {"mid_tom": 2}
    # tuning again under the model's own rules: no change reported, the rules stay
    assert main(["tune", "--checkpoint", str(mine)]) == 0
    assert "postprocessing." not in capsys.readouterr().out
    assert load_bundle(mine).config.postprocessing.exclusive_weights == {"mid_tom": 2}


def test_tuning_recovers_the_best_threshold():
    """On constructed activations the tuned threshold gives the best F1 of the grid."""
    from drumscribe.core.config import load_config
    from drumscribe.evaluation.evaluate import EvalItem, Prediction
    from drumscribe.evaluation.tuning import tune_from_predictions

    from eval_helpers import ROOT

    cfg = load_config(ROOT / "configs" / "medium_test_config.yaml")
    n = 400
    probs = np.zeros((n, cfg.n_classes), dtype=np.float32)
    true_frames = np.arange(20, n - 20, 20)
    probs[true_frames, 0] = 0.35  # true hits are weak ...
    probs[true_frames + 10, 0] = 0.25  # ... false alarms weaker
    item = EvalItem("x", np.zeros((n, 128), np.float32), true_frames * 512 / 22050, np.zeros(true_frames.size, int))
    th, details = tune_from_predictions([Prediction(item, probs, None)], cfg, [0.5] * cfg.n_classes)
    assert 0.25 < th[0] <= 0.35 and details[0]["after_f1"] == 1.0 and details[0]["before_f1"] == 0.0
    assert th[1:] == [0.5] * (cfg.n_classes - 1)  # no support: unchanged


def test_checkpoint_stores_config_and_thresholds_once(setup, tmp_path):
    """A checkpoint holds its config once (no Lightning hyper_parameters copy) and its thresholds once
    (the stored config's class_thresholds is null); saving thresholds into an older checkpoint that
    held both copies leaves one; loading puts the thresholds into the rebuilt config."""
    import shutil

    from drumscribe.training.checkpoint import load_bundle, save_thresholds
    from drumscribe.training.module import DrumscribeModule

    cfg, ckpt, _ = setup
    tuned = cfg.copy()
    tuned.postprocessing.class_thresholds = [0.3] * cfg.n_classes
    lightning_dict = {"hyper_parameters": {"config": tuned.to_dict()}, "hparams_name": "kwargs"}
    DrumscribeModule(tuned).on_save_checkpoint(lightning_dict)
    assert set(lightning_dict) == {"drumscribe"}
    meta = lightning_dict["drumscribe"]
    assert meta["thresholds"] == [0.3] * cfg.n_classes and meta["config"]["postprocessing"]["class_thresholds"] is None

    old = tmp_path / "old.ckpt"  # eval_helpers writes the older layout: hyper_parameters + drumscribe
    shutil.copy(ckpt, old)
    assert "hyper_parameters" in torch.load(old, weights_only=False)
    th = [0.05 * (i + 2) for i in range(cfg.n_classes)]
    save_thresholds(old, th)
    raw = torch.load(old, weights_only=False)
    assert "hyper_parameters" not in raw and raw["drumscribe"]["thresholds"] == pytest.approx(th)
    assert raw["drumscribe"]["config"]["postprocessing"]["class_thresholds"] is None
    b = load_bundle(old)
    assert b.thresholds == pytest.approx(th) and b.config.thresholds() == pytest.approx(th)


def test_threshold_choice_in_one_place(setup, tmp_path):
    """checkpoint.resolve: --threshold > --set threshold keys > the model's tuned thresholds; a --set
    onset_threshold means that value for every class even when the model holds tuned ones."""
    import shutil

    from drumscribe.training.checkpoint import load_bundle, save_thresholds
    from drumscribe.transcription.bundle import resolve

    cfg, ckpt, _ = setup
    tuned = tmp_path / "tuned.ckpt"
    shutil.copy(ckpt, tuned)
    th = [0.05 * (i + 2) for i in range(cfg.n_classes)]
    save_thresholds(tuned, th)
    b = load_bundle(tuned)
    n = cfg.n_classes
    assert resolve(b)[1] == pytest.approx(th)
    assert resolve(b, None, ["postprocessing.onset_threshold=0.3"])[1] == [0.3] * n
    assert resolve(b, None, [f"postprocessing.class_thresholds={[0.4] * n}"])[1] == [0.4] * n
    assert resolve(b, None, ["postprocessing.onset_threshold=0.3"], 0.7)[1] == [0.7] * n
    assert resolve(b, None, ["postprocessing.min_onset_interval=0.03"])[0].postprocessing.min_onset_interval == 0.03


def test_tuning_scores_a_grouped_class_as_decode_would():
    """With an exclusive group, a tom's threshold is scored after the group rule: the wrong tom that
    fires weaker on every true hit of another tom costs nothing, so a low threshold wins."""
    from drumscribe.core.config import load_config
    from drumscribe.evaluation.evaluate import EvalItem, Prediction, evaluate_predictions
    from drumscribe.evaluation.tuning import tune_from_predictions

    from eval_helpers import ROOT

    n = 600
    a, b = np.arange(20, 300, 20), np.arange(320, n - 20, 20)  # hi_tom hits, then mid_tom hits
    probs = np.zeros((n, 8), dtype=np.float32)
    probs[a, 3], probs[a, 4] = 0.9, 0.2       # hi_tom hits: mid_tom echoes weakly
    probs[b, 4] = 0.15                         # true mid_tom hits are weak too
    times = np.r_[a, b] * 512 / 22050
    item = EvalItem("x", np.zeros((n, 128), np.float32), times, np.r_[np.full(a.size, 3), np.full(b.size, 4)])
    pred = [Prediction(item, probs, None)]
    scores = {}
    for groups in ("[]", "[[hi_tom,mid_tom,low_tom]]"):
        cfg = load_config(ROOT / "configs" / "default_config.yaml", [f"postprocessing.exclusive_groups={groups}", "model.articulations=[]"])
        th, _ = tune_from_predictions(pred, cfg, [0.5] * 8)
        res = evaluate_predictions(pred, cfg, cfg.class_names, th)
        scores[groups] = (th[4], res["per_class"]["mid_tom"]["f1"])
    th_plain, f1_plain = scores["[]"]
    th_group, f1_group = scores["[[hi_tom,mid_tom,low_tom]]"]
    assert th_group <= 0.15 and f1_group == 1.0   # grouped: catch every weak mid_tom, echoes suppressed
    assert f1_plain < 1.0                          # plain: either miss them or take the echoes


def test_tuning_on_several_sets_maximises_their_mean_f1(monkeypatch):
    """Several tuning sets: each threshold maximises the mean of the sets' F1; a set with fewer than
    MIN_SET_SUPPORT onsets of the class does not vote (a handful of onsets never decides)."""
    from drumscribe.core.config import load_config
    from drumscribe.evaluation import tuning
    from drumscribe.evaluation.evaluate import EvalItem, Prediction

    from eval_helpers import ROOT

    cfg = load_config(ROOT / "configs" / "medium_test_config.yaml")

    def pred(true_p, fa_p, n_true, n_fa):
        n = 40 * (n_true + n_fa) + 40
        probs = np.zeros((n, cfg.n_classes), dtype=np.float32)
        true_frames = 20 + 40 * np.arange(n_true)
        probs[true_frames, 0] = true_p
        probs[20 + 40 * np.arange(n_true, n_true + n_fa), 0] = fa_p
        item = EvalItem("x", np.zeros((n, 128), np.float32), true_frames * 512 / 22050, np.zeros(n_true, int))
        return [Prediction(item, probs, None)]

    a, b = pred(0.35, 0.25, 20, 20), pred(0.6, 0.45, 12, 12)  # alone: a -> (0.25, 0.35], b -> (0.45, 0.6]
    c = pred(0.9, 0.5, 5, 40)  # 5 onsets: below MIN_SET_SUPPORT
    th_ab, det = tuning.tune_from_predictions([a, b], cfg, [0.5] * cfg.n_classes)
    mean = np.mean([[x.f1 for x in tuning.threshold_scores(s, cfg, 0, tuning.DEFAULT_GRID)] for s in (a, b)], axis=0)
    assert 0.25 < th_ab[0] <= 0.35 and np.isclose(det[0]["after_f1"], mean.max()) and np.isclose(mean.max(), 5 / 6)
    assert tuning.tune_from_predictions([a, b, c], cfg, [0.5] * cfg.n_classes)[0] == th_ab  # c has no vote
    monkeypatch.setattr(tuning, "MIN_SET_SUPPORT", 1)  # ... were it to vote, the choice would move
    assert 0.5 < tuning.tune_from_predictions([a, b, c], cfg, [0.5] * cfg.n_classes)[0][0] <= 0.6
    assert tuning.tune_from_predictions(a, cfg, [0.5] * cfg.n_classes)[0] == tuning.tune_from_predictions([a], cfg, [0.5] * cfg.n_classes)[0]
