"""One drum vocabulary (drumscribe.core.drums): configs, metrics, report, toy data and the synth read it;
one MIDI writer (midi_out), one atomic writer (atomic), one synth sample rate."""

import ast
from pathlib import Path

import yaml

from drumscribe.core import drums
from drumscribe.core.config import load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
SRC = ROOT / "src" / "drumscribe"
VOCAB_KEYS = ("drum_names", "gm_mapping")


def _raw(name):
    return yaml.safe_load((CONFIGS / f"{name}_config.yaml").read_text())


def test_default_config_takes_the_vocabulary_from_drums():
    raw = _raw("default")
    assert "egmd_midi_mapping" not in raw and not any(k in raw.get("midi", {}) for k in VOCAB_KEYS)
    cfg = load_config(CONFIGS / "default_config.yaml")
    assert cfg.class_names == list(drums.CLASSES) and cfg.model.n_classes == len(drums.CLASSES)
    assert cfg.midi.gm_mapping == drums.GM_OUTPUT
    assert cfg.egmd_midi_mapping == drums.td_mapping()
    assert drums.tom_map_disagreements(cfg.egmd_midi_mapping) == []
    # every articulation E-GMD uses is on its drum (none left unmapped)
    assert set(cfg.egmd_midi_mapping) == set(drums.TD_NOTES)


def test_plan_configs_list_the_plans_vocabulary_explicitly():
    """test_config.yaml (the plan's quick test, which medium_test_config.yaml was copied from) keeps the
    plan's lists: class names and GM notes are drums.py's; the note map is the plan's General MIDI reading."""
    quick, medium = _raw("test"), _raw("medium_test")
    assert quick["midi"] == medium["midi"] and quick["egmd_midi_mapping"] == medium["egmd_midi_mapping"]
    for name in ("test", "medium_test"):
        cfg = load_config(CONFIGS / f"{name}_config.yaml")
        assert cfg.class_names == list(drums.CLASSES)
        assert cfg.midi.gm_mapping == drums.GM_OUTPUT
        # the plan reads E-GMD's toms as General MIDI: exactly the tom disagreement drums.py documents
        assert drums.tom_map_disagreements(cfg.egmd_midi_mapping)
        mapped = {drums.CLASSES[c] for c in cfg.egmd_midi_mapping.values()}
        assert mapped == set(drums.CLASSES)


def test_metrics_report_and_toy_read_drums():
    from drumscribe.evaluation import metrics, report
    from drumscribe import synth
    from drumscribe.dataset import toy
    assert {g: set(m) for g, m in metrics.FIVE_CLASS_GROUPS.items()} == {
        g: {c for c in drums.CLASSES if drums.FOLD5[c] == g} for g in drums.FOLD5_CLASSES}
    assert sorted(c for m in metrics.FIVE_CLASS_GROUPS.values() for c in m) == sorted(drums.CLASSES)
    assert list(metrics.FIVE_CLASS_GROUPS) == list(drums.FOLD5_CLASSES)
    assert set(report.RECALL_CLASSES) <= set(drums.CLASSES)
    assert toy.TOY_NOTES == [drums.GM_OUTPUT[c] for c in drums.CLASSES]
    assert toy.SR == synth.SR


def _calls(tree, names):
    """(line, dotted call) of calls in ``tree`` whose dotted name ends with one of ``names``."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            parts = []
            while isinstance(f, ast.Attribute):
                parts.append(f.attr)
                f = f.value
            if isinstance(f, ast.Name):
                parts.append(f.id)
            dotted = ".".join(reversed(parts))
            if any(dotted == n or dotted.endswith("." + n) for n in names):
                out.append((node.lineno, dotted))
    return out


def test_one_midi_writer_one_atomic_writer_one_synth_rate():
    """Only transcription/midi_out builds MIDI files, only core/atomic.py (and dataset/cache.py, for HDF5 files and folders, on atomic's
    temp names) renames files into place, only synth/constants.py says 44100."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        text = path.read_text()
        tree = ast.parse(text)
        if rel != "transcription/midi_out.py":
            offenders += [(rel, *c) for c in _calls(tree, ("MidiFile", "PrettyMIDI.write", "MidiTrack"))]
            offenders += [(rel, n.lineno, "pretty_midi.PrettyMIDI(resolution=...)") for n in ast.walk(tree)
                          if isinstance(n, ast.Call) and any(k.arg in ("resolution", "initial_tempo") for k in n.keywords)]
        if rel not in ("core/atomic.py", "dataset/cache.py"):  # cache.py: HDF5 files and .npy folders, on atomic's temp names
            offenders += [(rel, *c) for c in _calls(tree, ("os.replace", "os.rename"))]
        if rel != "synth/constants.py":
            # the synthesiser's rate is said once; a table of what a file format may carry (the MP3 sample rates
            # the review page can embed) is another fact, named as such
            formats = {id(c) for n in ast.walk(tree) if isinstance(n, ast.Assign)
                       and any(isinstance(t, ast.Name) and t.id == "MP3_RATES" for t in n.targets)
                       for c in ast.walk(n.value)}
            offenders += [(rel, n.lineno, "44100") for n in ast.walk(tree)
                          if isinstance(n, ast.Constant) and n.value == 44100 and id(n) not in formats]
    # reading MIDI (mido.MidiFile(path)) is fine: only calls without a file argument build one
    offenders = [o for o in offenders if not _reads(SRC / o[0], o[1])]
    assert offenders == []


def _reads(path: Path, line: int) -> bool:
    src = path.read_text().splitlines()[line - 1]
    return "MidiFile(str(" in src or "MidiFile(path" in src or "MidiFile(file" in src
