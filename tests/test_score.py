"""score.py: the drum score, read back with music21's MusicXML parser; PNG through MuseScore when installed."""

import numpy as np
import pytest

pytest.importorskip("music21")

from drumscribe.transcription.beats import track_events  # noqa: E402
from drumscribe.core.drums import CLASSES  # noqa: E402
from drumscribe.transcription.score import NOTATION, find_musescore, write_score  # noqa: E402

from beat_helpers import groove, steady_beats  # noqa: E402


@pytest.fixture(scope="module")
def groove_and_map():
    ref = steady_beats(100.0, 20.0, offset=0.3)
    events, _ = groove(ref, seed=4)
    return events, track_events(events, CLASSES, 20.0)


def test_musicxml_reads_back_as_a_drum_chart(tmp_path, groove_and_map):
    from music21 import converter, meter, note, percussion

    events, bm = groove_and_map
    path = write_score(tmp_path / "g.musicxml", events, CLASSES, bm, "musicxml", title="groove")[0]
    sc = converter.parse(str(path))
    part = sc.parts[0]
    measures = list(part.getElementsByClass("Measure"))
    ts = [t.ratioString for t in sc.recurse().getElementsByClass(meter.TimeSignature)]
    assert ts[-1] == "4/4"
    assert 7 <= len(measures) <= 10  # 20 s at 100 bpm = 8.3 bars
    heads = []
    for el in sc.recurse().notes:
        heads += list(el.notes) if isinstance(el, percussion.PercussionChord) else [el]
    assert all(isinstance(h, note.Unpitched) for h in heads)
    assert len(heads) == len(events)  # every hit is on the chart
    by_pos = {}
    for h in heads:
        by_pos.setdefault((h.displayStep + str(h.displayOctave), h.notehead), 0)
        by_pos[(h.displayStep + str(h.displayOctave), h.notehead)] += 1
    n = {c: sum(1 for e in events if CLASSES[e.cls] == c) for c in ("kick", "snare", "hihat", "crash")}
    assert by_pos[("F4", "normal")] == n["kick"] and by_pos[("C5", "normal")] == n["snare"]
    assert by_pos[("G5", "x")] == n["hihat"] and by_pos[("A5", "x")] == n["crash"]


def test_notation_table_covers_the_model_classes():
    assert set(CLASSES) <= set(NOTATION)


@pytest.mark.skipif(find_musescore() is None, reason="MuseScore (musescore3) not installed")
def test_png_render_is_not_empty(tmp_path, groove_and_map):
    from PIL import Image

    events, bm = groove_and_map
    path = write_score(tmp_path / "g.png", events, CLASSES, bm, "png")[0]
    img = np.asarray(Image.open(path).convert("L"))
    assert img.shape[0] > 500 and (img < 128).mean() > 0.005  # ink on the page


def test_pdf_without_musescore_is_one_clear_error(tmp_path, groove_and_map, monkeypatch):
    import drumscribe.transcription.score as score
    from drumscribe.core.errors import DrumscribeError

    monkeypatch.setattr(score, "find_musescore", lambda: None)
    events, bm = groove_and_map
    with pytest.raises(DrumscribeError, match="apt-get install --no-install-recommends musescore3"):
        score.write_score(tmp_path / "g.pdf", events, CLASSES, bm, "pdf")
    assert not (tmp_path / "g.pdf").exists()


def test_pickup_is_an_incomplete_first_bar_in_the_music_s_meter(tmp_path):
    """Beats before the first downbeat: bar 0, shorter, implicit (unnumbered), and 4/4 from the start (no 1/4 bar)."""
    import xml.etree.ElementTree as ET

    from music21 import converter, meter

    from drumscribe.transcription.beats import BeatMap

    ref = steady_beats(100.0, 12.0, offset=0.0)
    events, _ = groove(ref, start_beat=3, seed=2)  # starts on beat 4: a one-beat pickup
    bm = BeatMap(ref, downbeat_index=1, meter="4/4")
    path = write_score(tmp_path / "p.musicxml", events, CLASSES, bm, "musicxml")[0]
    first = ET.parse(path).getroot().find("part").find("measure")
    assert first.get("number") == "0" and first.get("implicit") == "yes"
    sc = converter.parse(str(path))
    assert {t.ratioString for t in sc.recurse().getElementsByClass(meter.TimeSignature)} == {"4/4"}
    measures = list(sc.parts[0].getElementsByClass("Measure"))
    assert measures[0].duration.quarterLength == pytest.approx(1.0)
    assert measures[1].duration.quarterLength == pytest.approx(4.0)


def test_articulations_are_notated(tmp_path):
    """A hand-made list with every articulation: open circle, circled-x cross-stick, pedal below the staff, bell."""
    from music21 import articulations, converter, percussion

    from drumscribe.core.drums import ARTICULATION_CLASSES, ARTICULATION_PARENT
    from drumscribe.transcription.beats import BeatMap
    from drumscribe.transcription.decoding import Event

    assert set(ARTICULATION_CLASSES) <= set(NOTATION)
    bm = BeatMap.constant(120.0, 4.0)
    events = [Event(0.5 * i, CLASSES.index(ARTICULATION_PARENT[a]), 90, 0.9, a) for i, a in enumerate(ARTICULATION_CLASSES)]
    path = write_score(tmp_path / "a.musicxml", events, CLASSES, bm, "musicxml")[0]
    heads = []
    for el in converter.parse(str(path)).recurse().notes:
        heads += list(el.notes) if isinstance(el, percussion.PercussionChord) else [el]
    got = {(h.displayStep + str(h.displayOctave), h.notehead, tuple(type(a).__name__ for a in h.articulations))
           for h in heads}
    assert ("G5", "x", (articulations.OpenString.__name__,)) in got  # open hi-hat
    assert ("D4", "x", ()) in got  # pedal hi-hat, below the staff
    assert ("C5", "circle-x", ()) in got  # cross-stick
    assert ("F5", "diamond", ()) in got  # ride bell
    assert ("C5", "normal", ("Accent",)) in got  # rim shot
