"""Drum events + beat map -> a one-staff drum-set score (MusicXML via music21; PDF/PNG via MuseScore).

Notation (:data:`NOTATION`): the common drum-set key (Weinberg, *Guide to
Standardized Drumset Notation*, Percussive Arts Society 1994; MuseScore's
default drum set agrees) on a five-line percussion staff, written as the
treble-clef position a hit sits on:

===========  ========================  =========  =====
class        staff position            notehead   voice
===========  ========================  =========  =====
crash        A5 (ledger line above)    x          hands
hihat        G5 (space above)          x          hands
ride         F5 (top line)             x          hands
hi_tom       E5 (top space)            normal     hands
mid_tom      D5 (fourth line)          normal     hands
snare        C5 (third space)          normal     hands
low_tom      A4 (second space)         normal     hands
kick         F4 (bottom space)         normal     feet
===========  ========================  =========  =====

Hands are voice 1 (stems up), feet voice 2 (stems down).  Articulations (an
event's ``articulation``, :data:`drumscribe.core.drums.ARTICULATION_CLASSES`; the
bundled 8-class model has none): an open hi-hat is the hi-hat with an "o" above
it, a pedal hi-hat an x below the staff (D4, feet), a cross-stick a circled-x on
the snare's space, a rim shot the snare with an accent, a ride bell a diamond on
the ride's line.

Quantisation: every hit is placed on the beat map
(:class:`~drumscribe.transcription.beats.BeatMap`).  With ``quantize`` (a
:data:`drumscribe.transcription.midi_out.QUANTIZE_STEPS` key) every beat uses that grid;
without, each beat takes sixteenths or triplet eighths, whichever is closer to
what was played (triplets must be clearly closer: :data:`TRIPLET_MARGIN`),
so a shuffle reads as triplets and a straight groove as sixteenths.
Measures follow the beat map's downbeats; beats before the first one form a
pickup (an incomplete bar 0, MusicXML ``implicit="yes"``, in the music's own
time signature); the tempo mark is the beat map's overall tempo.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections import defaultdict
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np

from drumscribe.core.atomic import atomic_write_bytes
from drumscribe.core.errors import DrumscribeError

# class or articulation (drumscribe.core.drums.ARTICULATION_CLASSES) -> (display step+octave, notehead,
# voice 1 = hands / 2 = feet, mark: "" / "open" (a circle over it) / "accent")
NOTATION: dict[str, tuple[str, str, int, str]] = {
    "crash": ("A5", "x", 1, ""),
    "hihat": ("G5", "x", 1, ""),
    "hihat_open": ("G5", "x", 1, "open"),
    "ride": ("F5", "x", 1, ""),
    "ride_bell": ("F5", "diamond", 1, ""),
    "hi_tom": ("E5", "normal", 1, ""),
    "mid_tom": ("D5", "normal", 1, ""),
    "snare": ("C5", "normal", 1, ""),
    "cross_stick": ("C5", "circle-x", 1, ""),
    "rimshot": ("C5", "normal", 1, "accent"),
    "low_tom": ("A4", "normal", 1, ""),
    "kick": ("F4", "normal", 2, ""),
    "hihat_pedal": ("D4", "x", 2, ""),
}
TRIPLET_MARGIN = 0.5  # triplets win a beat only when their squared timing error is below this share of sixteenths'
MUSESCORE_BINARIES = ("mscore3", "musescore3", "mscore", "musescore")
INSTALL_HINT = ("install MuseScore 3 (Debian/Ubuntu: apt-get install --no-install-recommends musescore3), "
                "or write .musicxml and open it in MuseScore")


def _music21():
    try:
        import music21
    except ImportError:
        raise DrumscribeError("drum scores need music21: pip install 'drumscribe[score]'") from None
    return music21


def _expressible(ql: Fraction) -> bool:
    from music21 import duration

    d = duration.Duration(ql)
    if d.type in ("complex", "inexpressible") or d.dots > 1:
        return False
    return all(t.numberNotesActual == 3 and t.numberNotesNormal == 2 for t in d.tuplets) and len(d.tuplets) <= 1 \
        and not (d.tuplets and d.dots)


def _pieces(slots: int, div: int, qpb: Fraction) -> list[Fraction]:
    """``slots`` grid steps split into notatable lengths (quarter lengths), longest first."""
    out = []
    while slots > 0:
        for k in range(slots, 0, -1):
            ql = Fraction(k, div) * qpb
            if _expressible(ql):
                out.append(ql)
                slots -= k
                break
        else:  # one step is always expressible for the grids used here; guard anyway
            out.append(Fraction(1, div) * qpb)
            slots -= 1
    return out


def grid_positions(times: np.ndarray, beat_map, quantize: str | None = None) -> list[tuple[int, int, int]]:
    """``(beat index, slot, slots per beat)`` of each time: the per-beat grid (see the module docstring)."""
    from drumscribe.transcription.midi_out import QUANTIZE_STEPS

    qpb = beat_map.quarters_per_beat
    x = beat_map.to_quarters(times) / qpb  # fractional beats
    if quantize:
        div = max(int(round(qpb / QUANTIZE_STEPS[quantize])), 1)
        options = (div,)
    else:
        options = (6, 3) if beat_map.meter == "6/8" else (4, 3)
    first = options[0]
    beat_of = np.floor(x + 0.5 / first).astype(np.int64)
    choice: dict[int, int] = {}
    for b in np.unique(beat_of):
        xs = x[beat_of == b] - b
        errs = [float(np.sum((xs * d - np.round(xs * d)) ** 2) / d ** 2) for d in options]
        choice[int(b)] = options[1] if len(options) > 1 and errs[1] < TRIPLET_MARGIN * errs[0] else first
    out = []
    for xi, b in zip(x, beat_of):
        d = choice[int(b)]
        k = int(np.round((xi - b) * d))
        bb = int(b)
        if k >= d:
            bb, k = bb + 1, 0
        if k < 0:
            bb, k = bb - 1, d + k
        out.append((bb, k, d))
    return out


def build_score(events, class_names: Sequence[str], beat_map, quantize: str | None = None, title: str = ""):
    """A music21 ``Score`` of ``events`` (see the module docstring)."""
    m21 = _music21()
    from music21 import articulations, clef, meter, note, percussion, stream, tempo

    qpb = Fraction(beat_map.quarters_per_beat).limit_denominator(8)
    bpb = beat_map.beats_per_bar
    times = np.array([e.time for e in events], dtype=np.float64)
    pos = grid_positions(times, beat_map, quantize) if len(times) else []
    # (voice, beat) -> {slot: [class names]}, with the beat's slots per beat
    cells: dict[tuple[int, int], dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    div_of: dict[int, int] = {}
    for e, (b, k, d) in zip(events, pos):
        name = e.articulation if e.articulation in NOTATION else class_names[e.cls]
        if name not in NOTATION:
            continue
        voice = NOTATION[name][2]
        div_of[b] = d
        if name not in cells[(voice, b)][k]:
            cells[(voice, b)][k].append(name)
    last_beat = max([b for b, _, _ in pos], default=0)
    first_beat = min(0, min([b for b, _, _ in pos], default=0))
    down = beat_map.downbeat_index % bpb
    # bars: a pickup of `down` beats, then whole bars from the first downbeat
    bars: list[tuple[int, int]] = []
    start = first_beat
    if down and first_beat == 0:
        bars.append((0, down))
        start = down
    while start <= last_beat:
        bars.append((start, bpb))
        start += bpb

    score = stream.Score()
    if title:
        from music21 import metadata

        score.metadata = metadata.Metadata(title=title)
        score.metadata.composer = "drumscribe"
    part = stream.Part()
    part.partName = "Drum set"
    part.insert(0, m21.instrument.Percussion())
    num, den = beat_map.numerator, beat_map.denominator
    for i, (b0, nbeats) in enumerate(bars):
        m = stream.Measure(number=i + (0 if bars[0][1] != bpb or down and i == 0 and nbeats < bpb else 1))
        if i == 0:
            m.insert(0, clef.PercussionClef())
            # a pickup is an incomplete first bar (an anacrusis: bar 0, padded on the left), not a bar of
            # another meter: the chart starts in the music's time signature as a drummer reads it
            m.insert(0, meter.TimeSignature(f"{num}/{den}"))
            if nbeats != bpb:
                m.paddingLeft = qpb * (bpb - nbeats)
                m.showNumber = stream.enums.ShowNumber.NEVER  # MusicXML implicit="yes"
            bpm = beat_map.bpm
            ref = note.Note(type="quarter", dots=1) if beat_map.meter == "6/8" else note.Note(type="quarter")
            m.insert(0, tempo.MetronomeMark(number=round(bpm), referent=ref.duration))
        for voice in (1, 2):
            v = stream.Voice(id=str(voice))
            if not any(cells.get((voice, b)) for b in range(b0, b0 + nbeats)):
                r = note.Rest(quarterLength=qpb * nbeats)
                v.append(r)
                m.insert(0, v)
                continue
            for b in range(b0, b0 + nbeats):
                slots = cells.get((voice, b), {})
                d = div_of.get(b, 4)
                if not slots:
                    v.append(note.Rest(quarterLength=qpb))
                    continue
                ks = sorted(slots)
                if ks[0] > 0:
                    for ql in _pieces(ks[0], d, qpb):
                        v.append(note.Rest(quarterLength=ql))
                for j, k in enumerate(ks):
                    gap = (ks[j + 1] if j + 1 < len(ks) else d) - k
                    pieces = _pieces(gap, d, qpb)
                    heads = []
                    for name in sorted(slots[k], key=lambda n: list(NOTATION).index(n)):
                        pitch, head, _, mark = NOTATION[name]
                        u = note.Unpitched(displayName=pitch)
                        u.notehead = head
                        if mark == "open":
                            u.articulations.append(articulations.OpenString())
                        elif mark == "accent":
                            u.articulations.append(articulations.Accent())
                        heads.append(u)
                    el = heads[0] if len(heads) == 1 else percussion.PercussionChord(heads)
                    el.quarterLength = pieces[0]
                    el.stemDirection = "up" if voice == 1 else "down"
                    v.append(el)
                    for ql in pieces[1:]:
                        v.append(note.Rest(quarterLength=ql))
            m.insert(0, v)
        part.append(m)
    score.insert(0, part)
    return score


def musicxml_bytes(score) -> bytes:
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    return GeneralObjectExporter(score).parse()


def find_musescore() -> str | None:
    for name in MUSESCORE_BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


def render(musicxml: bytes, fmt: str, out_path: Path, dpi: int = 150) -> list[Path]:
    """Render MusicXML to ``fmt`` (pdf/png) through MuseScore; returns the written paths.

    PNG: one image per page, the first at ``out_path``, further pages at ``<stem>-2.png`` ...
    """
    exe = find_musescore()
    if exe is None:
        raise DrumscribeError(f"{out_path}: {fmt.upper()} scores need MuseScore, which is not installed: {INSTALL_HINT}")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    with tempfile.TemporaryDirectory(prefix="drumscribe-score-") as tmp:
        src = Path(tmp) / "score.musicxml"
        src.write_bytes(musicxml)
        dst = Path(tmp) / f"score.{fmt}"
        cmd = [exe, "-o", str(dst), str(src)] + (["-r", str(dpi)] if fmt == "png" else [])
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)
        made = sorted(Path(tmp).glob("score*." + fmt), key=lambda p: (len(p.name), p.name))
        made = [p for p in made if p != src]
        if proc.returncode != 0 or not made:
            why = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or ["no output"]
            raise DrumscribeError(f"{out_path}: MuseScore ({exe}) could not render the score: {why[0]}")
        written = []
        for i, p in enumerate(made):
            target = out_path if i == 0 else out_path.with_name(f"{out_path.stem}-{i + 1}{out_path.suffix}")
            atomic_write_bytes(target, p.read_bytes())
            written.append(target)
    return written


def write_score(path: str | Path, events, class_names: Sequence[str], beat_map, fmt: str = "musicxml",
                quantize: str | None = None, title: str = "") -> list[Path]:
    """Write the drum score of ``events`` as MusicXML, PDF or PNG (atomic); returns the written paths."""
    path = Path(path)
    if fmt in ("pdf", "png") and find_musescore() is None:  # fail before the work
        raise DrumscribeError(f"{path}: {fmt.upper()} scores need MuseScore, which is not installed: {INSTALL_HINT}")
    xml = musicxml_bytes(build_score(events, class_names, beat_map, quantize, title))
    if fmt == "musicxml":
        atomic_write_bytes(path, xml)
        return [path]
    if fmt in ("pdf", "png"):
        return render(xml, fmt, path)
    raise ValueError(f"unknown score format {fmt!r}")
