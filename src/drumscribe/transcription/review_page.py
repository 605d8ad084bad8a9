"""The review page: one self-contained HTML file to listen to, check and fix a transcription offline.

``drumscribe transcribe song.wav song.html`` (or ``--format html``) writes it with
:func:`write_review_page`.  The page holds everything (nothing is fetched from the network):

* the audio, mixed to mono and encoded by libsndfile (:func:`encode_audio`: MP3 at :data:`MP3_KBITS` kbit/s,
  or Ogg Vorbis where this libsndfile has no MP3 encoder) and base64-embedded, or (``audio="link"``) a relative
  link to the input file beside the page (nothing is copied, the audio is never written);
* a loudness overview (:data:`ENVELOPE_RATE` peaks per second, one byte each) so that the first draw needs no
  audio decoding;
* the transcription as :func:`page_data` builds it: one lane per drum / articulation present (General MIDI
  names), every event's time, lane, velocity and strength, the beat grid of the
  :class:`~drumscribe.transcription.beats.BeatMap` the MIDI writer uses, and the MIDI facts the page's own
  Standard MIDI File writer needs to give the CLI's file back event for event: the tempo/meter events and each
  event's tick, both read from the bytes of :func:`drumscribe.transcription.midi_out.midi_bytes` (the project's
  one MIDI writer), so the page restates no tempo-map arithmetic for the hits it was given.

The page itself (``review/page.html``, ``page.css``, ``page.js``: plain JavaScript, no build step) draws lanes on a
virtualised ``<canvas>``, plays the song with the hits synthesised in Web Audio, and lets the user remove, add,
move and re-assign hits and download the corrected MIDI / JSON (downloads only; the page writes nothing itself).
A read-only test hook, ``window.drumscribeReview``, exposes its state to the browser tests.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Sequence

REVIEW_DIR = Path(__file__).resolve().parent / "review"
PAGE_AUDIO = ("embed", "link")  # --page-audio: the audio inside the page, or a relative link to the input
MP3_KBITS = 96  # constant bit rate of the embedded MP3 (libsndfile's compression level 0.8)
MP3_LEVEL = 0.8
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)  # what an MP3 may carry
ENVELOPE_RATE = 100  # overview peaks per second
DATA_ID, AUDIO_ID = "drumscribe-data", "drumscribe-audio"  # the page's two embedded blocks
LINK_MIME = {".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
             ".oga": "audio/ogg", ".opus": "audio/ogg", ".m4a": "audio/mp4", ".aac": "audio/aac",
             ".aif": "audio/aiff", ".aiff": "audio/aiff", ".webm": "audio/webm"}


def gm_drum_name(note: int) -> str:
    """General MIDI percussion name of ``note`` (pretty_midi's table), ``"note N"`` outside it."""
    import pretty_midi

    return pretty_midi.note_number_to_drum_name(int(note)) or f"note {int(note)}"


def lane_table(class_names: Sequence[str], midi_cfg, articulations: Sequence[str] = ()) -> list[dict]:
    """Every drum / articulation the page can draw, in model-output order: the drums, then ``articulations``
    (those whose drum is a class here).  Each: ``cls`` (class index), ``art`` ("" or the articulation), ``note``
    (the General MIDI note the MIDI writer uses), ``name`` (class / articulation name) and ``gm`` (GM name)."""
    from drumscribe.core.drums import ARTICULATION_GM, ARTICULATION_PARENT

    lanes = [{"cls": c, "art": "", "note": int(midi_cfg.gm_mapping[n]), "name": n} for c, n in enumerate(class_names)]
    for a in articulations:
        parent = ARTICULATION_PARENT.get(a)
        if parent in class_names:
            lanes.append({"cls": list(class_names).index(parent), "art": a, "note": int(ARTICULATION_GM[a]),
                          "name": a})
    for lane in lanes:
        lane["gm"] = gm_drum_name(lane["note"])
    return lanes


def _midi_facts(events, class_names, midi_cfg, beat_map, quantize, fold) -> tuple[list, list[int]]:
    """``(meta, ticks)`` read back from the CLI's own MIDI bytes: the tempo-track events
    ``[tick, "tempo", us]`` / ``[tick, "time_signature", num, den, clocks, n32]`` in file order, and the
    note-on tick of each event (events sorted by time, so note-ons come in event order)."""
    import mido

    from drumscribe.transcription.midi_out import midi_bytes

    mf = mido.MidiFile(file=io.BytesIO(midi_bytes(events, class_names, midi_cfg, beat_map, quantize, "single", fold)))
    meta, now = [], 0
    for msg in mf.tracks[0]:
        now += msg.time
        if msg.type == "set_tempo":
            meta.append([now, "tempo", int(msg.tempo)])
        elif msg.type == "time_signature":
            meta.append([now, "time_signature", msg.numerator, msg.denominator, msg.clocks_per_click,
                         msg.notated_32nd_notes_per_beat])
    ticks, now = [], 0
    for msg in mf.tracks[1]:
        now += msg.time
        if msg.type == "note_on":
            ticks.append(now)
    if len(ticks) != len(events):
        raise AssertionError(f"MIDI writer gave {len(ticks)} notes for {len(events)} events")
    return meta, ticks


def page_data(events, class_names: Sequence[str], midi_cfg, beat_map, duration: float, *, title: str = "",
              articulations: Sequence[str] = (), quantize: str | None = None, tracks: str = "single",
              fold: bool = False) -> dict:
    """What the page shows and edits (JSON-ready): see the module docstring.  ``events``: decoded
    :class:`~drumscribe.transcription.decoding.Event` list; ``beat_map``: the BeatMap the MIDI writer uses;
    ``quantize``/``tracks``/``fold`` as the CLI's MIDI (:func:`drumscribe.transcription.midi_out.midi_bytes`)."""
    from drumscribe.transcription.midi_out import QUANTIZE_STEPS, MIDI_TRACKS, note_number

    if tracks not in MIDI_TRACKS:
        raise ValueError(f"tracks must be one of {MIDI_TRACKS}, got {tracks!r}")
    events = sorted(events, key=lambda e: (e.time, e.cls))
    present = {e.articulation for e in events if e.articulation and not fold}
    arts = [a for a in articulations if not fold] + sorted(present - set(articulations))
    lanes = lane_table(class_names, midi_cfg, arts)
    lane_of = {(ln["cls"], ln["art"]): i for i, ln in enumerate(lanes)}
    lane_idx = [lane_of[(int(e.cls), "" if fold else e.articulation)] for e in events]
    for e, i in zip(events, lane_idx):  # the lane's note is the writer's note
        assert lanes[i]["note"] == note_number(e, class_names, midi_cfg, fold)
    meta, ticks = _midi_facts(events, class_names, midi_cfg, beat_map, quantize, fold)
    q = None if quantize in (None, "off") else QUANTIZE_STEPS[quantize]
    return {
        "format": "drumscribe-review", "version": 1, "title": title, "duration": round(float(duration), 6),
        "class_names": list(class_names), "lanes": lanes,
        "events": {"time": [round(float(e.time), 6) for e in events], "lane": lane_idx,
                   "velocity": [int(e.velocity) for e in events],
                   "strength": [round(float(e.strength), 6) for e in events], "tick": ticks},
        "grid": {"beats": [float(b) for b in beat_map.beats], "downbeat_index": int(beat_map.downbeat_index),
                 "meter": beat_map.meter, "quarters_per_beat": beat_map.quarters_per_beat,
                 "beats_per_bar": beat_map.beats_per_bar,
                 "bpm": round(float(beat_map.bpm * beat_map.quarters_per_beat), 3)},
        "midi": {"ticks_per_beat": int(midi_cfg.ticks_per_beat), "note_ticks": int(midi_cfg.note_duration_ticks),
                 "tracks": tracks, "meta": meta, "quantize": q},
    }


def _read_audio(path: Path):
    """``(samples, 1)`` float32, the channels mixed (what the model heard; a mono MP3 encodes in half the time of a
    stereo one and sounds better at the same size), and the rate, for the page's audio."""
    import numpy as np
    import soundfile as sf

    from drumscribe.audio.io import mix_to_mono
    from drumscribe.core.errors import AudioError

    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(f"{path}: cannot read audio for the review page ({exc})") from None
    return np.ascontiguousarray(mix_to_mono(data)[:, None]), int(sr)


def loudness_envelope(data, sr: int, rate: int = ENVELOPE_RATE) -> bytes:
    """Peak ``|sample|`` of each ``1/rate`` s (all channels), square-root scaled to bytes 0..255 of the
    file's peak: the page's overview and waveform strip."""
    import numpy as np

    hop = max(int(round(sr / rate)), 1)
    data = np.asarray(data, dtype=np.float32).reshape(len(data), -1)
    n = -(-len(data) // hop)
    whole = len(data) // hop
    peaks = np.zeros(n, dtype=np.float32)
    if whole:
        blocks = data[: whole * hop].reshape(whole, hop * data.shape[1])
        peaks[:whole] = np.maximum(blocks.max(axis=1), -blocks.min(axis=1))
    if n > whole:
        peaks[whole] = np.abs(data[whole * hop:]).max()
    top = float(peaks.max()) if n else 0.0
    if top <= 0:
        return bytes(n)
    return np.rint(np.sqrt(peaks / top) * 255).astype(np.uint8).tobytes()


def encode_audio(data, sr: int) -> tuple[str, bytes]:
    """``(mime type, bytes)``: MP3 (constant :data:`MP3_KBITS` kbit/s, every browser plays it),
    or Ogg Vorbis where this libsndfile cannot write MP3."""
    import soundfile as sf

    from drumscribe.audio.io import resample

    if "MP3" in sf.available_formats():
        rate = sr if sr in MP3_RATES else next((r for r in MP3_RATES if r >= min(sr, MP3_RATES[-1])), MP3_RATES[-1])
        if rate != sr:
            import numpy as np

            data = np.stack([resample(data[:, c], sr, rate) for c in range(data.shape[1])], axis=1)
        buf = io.BytesIO()
        sf.write(buf, data, rate, format="MP3", subtype="MPEG_LAYER_III", compression_level=MP3_LEVEL,
                 bitrate_mode="CONSTANT")
        return "audio/mpeg", buf.getvalue()
    buf = io.BytesIO()
    sf.write(buf, data, sr, format="OGG", subtype="VORBIS")
    return "audio/ogg", buf.getvalue()


def _script_json(doc) -> str:
    """JSON safe inside a ``<script>`` element (no ``</``)."""
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def page_html(data: dict, audio_b64: str = "") -> str:
    """The page: the template with its CSS, JavaScript, ``data`` and the base64 audio inlined."""
    import html

    template = (REVIEW_DIR / "page.html").read_text(encoding="utf-8")
    parts = {
        "{{TITLE}}": html.escape(data.get("title") or "drumscribe review"),
        "{{CSS}}": (REVIEW_DIR / "page.css").read_text(encoding="utf-8"),
        "{{JS}}": (REVIEW_DIR / "page.js").read_text(encoding="utf-8"),
        "{{DATA}}": _script_json(data),
        "{{AUDIO}}": audio_b64,
    }
    for key in parts:  # every placeholder once, in the template only (the inlined parts may hold any text)
        if template.count(key) != 1:
            raise AssertionError(f"review/page.html must hold {key} once")
    out, rest = [], template
    while rest:
        pos = {k: rest.find(k) for k in parts if rest.find(k) >= 0}
        if not pos:
            out.append(rest)
            break
        k = min(pos, key=pos.get)
        out += [rest[:pos[k]], parts[k]]
        rest = rest[pos[k] + len(k):]
    return "".join(out)


def build_page(in_path, out_path, events, class_names: Sequence[str], midi_cfg, beat_map, duration: float, *,
               audio: str = "embed", articulations: Sequence[str] = (), quantize: str | None = None,
               tracks: str = "single", fold: bool = False) -> str:
    """The page's HTML for ``in_path``'s transcription, to be written at ``out_path`` (a link is relative
    to it)."""
    import os

    if audio not in PAGE_AUDIO:
        raise ValueError(f"audio must be one of {PAGE_AUDIO}, got {audio!r}")
    in_path, out_path = Path(in_path), Path(out_path)
    data = page_data(events, class_names, midi_cfg, beat_map, duration, title=in_path.name,
                     articulations=articulations, quantize=quantize, tracks=tracks, fold=fold)
    samples, sr = _read_audio(in_path)
    data["envelope"] = {"rate": ENVELOPE_RATE,
                        "peaks": base64.b64encode(loudness_envelope(samples, sr)).decode("ascii")}
    if audio == "embed":
        mime, blob = encode_audio(samples, sr)
        data["audio"] = {"mode": "embed", "mime": mime}
        return page_html(data, base64.b64encode(blob).decode("ascii"))
    rel = os.path.relpath(in_path.resolve(), out_path.resolve().parent)
    data["audio"] = {"mode": "link", "mime": LINK_MIME.get(in_path.suffix.lower(), ""),
                     "src": Path(rel).as_posix()}
    return page_html(data)


def write_review_page(out_path, in_path, events, class_names: Sequence[str], midi_cfg, beat_map, duration: float,
                      **kwargs) -> Path:
    """:func:`build_page`, written atomically to ``out_path`` (callers apply the overwrite rule first)."""
    from drumscribe.core.atomic import atomic_write_text

    out_path = Path(out_path)
    atomic_write_text(out_path, build_page(in_path, out_path, events, class_names, midi_cfg, beat_map, duration,
                                           **kwargs))
    return out_path
