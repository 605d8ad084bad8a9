"""The review page's Python side (transcription/review_page.py, ``transcribe ... song.html``): the embedded data,
the audio, sizes and the overwrite rule.  The page in a real browser: test_review_page_browser.py."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from drumscribe.cli import main
from drumscribe.commands.demo import DEMO_CLIP
from drumscribe.core.config import MidiConfig
from drumscribe.core.drums import ARTICULATION_GM, CLASSES, GM_OUTPUT
from drumscribe.transcription.beats import BeatMap
from drumscribe.transcription.decoding import Event
from drumscribe.transcription.midi_out import midi_bytes
from drumscribe.transcription.review_page import (AUDIO_ID, DATA_ID, build_page, lane_table, loudness_envelope,
                                                  page_data)


def embedded(html: str) -> tuple[dict, str]:
    """(the data block, the base64 audio) of a page."""
    data = re.search(rf'<script type="application/json" id="{DATA_ID}">(.*?)</script>', html, re.S).group(1)
    audio = re.search(rf'<script type="text/plain" id="{AUDIO_ID}">(.*?)</script>', html, re.S).group(1)
    return json.loads(data), audio.strip()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """The first 6 s of the bundled demo clip (made by the project), as WAV."""
    y, sr = sf.read(DEMO_CLIP, dtype="float32")
    path = tmp_path_factory.mktemp("clip") / "clip.wav"
    sf.write(path, y[: 6 * sr], sr)
    return path


def _events():
    return [Event(0.0, 0, 100, 0.9), Event(0.5, 1, 90, 0.8), Event(0.5, 2, 60, 0.7, "hihat_open"),
            Event(1.0, 2, 70, 0.6), Event(1.26, 1, 40, 0.5, "cross_stick"), Event(1.5, 6, 127, 0.95)]


def test_page_data_ticks_and_tempo_are_the_midi_writers():
    cfg = MidiConfig()
    beat_map = BeatMap(np.array([0.0, 0.48, 0.97, 1.47, 1.96, 2.45, 2.95]), 1, "4/4")  # a drifting grid, a pickup
    events = _events()
    data = page_data(events, CLASSES, cfg, beat_map, 3.0, articulations=["hihat_open", "cross_stick", "rimshot"])
    ev = data["events"]
    assert len(ev["time"]) == len(events) and ev["time"] == [e.time for e in events]
    lanes = data["lanes"]
    notes = [lanes[i]["note"] for i in ev["lane"]]
    assert notes == [36, 38, ARTICULATION_GM["hihat_open"], GM_OUTPUT["hihat"], 37, 49]
    assert [lanes[i]["gm"] for i in ev["lane"]][:3] == ["Bass Drum 1", "Acoustic Snare", "Open Hi Hat"]
    mf = mido.MidiFile(file=io.BytesIO(midi_bytes(events, CLASSES, cfg, beat_map)))
    now, ons, tempos = 0, [], []
    for msg in mf.tracks[1]:
        now += msg.time
        if msg.type == "note_on":
            ons.append((now, msg.note, msg.velocity))
    assert [(t, n, v) for t, n, v in zip(ev["tick"], notes, ev["velocity"])] == ons
    now = 0
    for msg in mf.tracks[0]:
        now += msg.time
        if msg.type == "set_tempo":
            tempos.append([now, "tempo", msg.tempo])
    assert [m for m in data["midi"]["meta"] if m[1] == "tempo"] == tempos
    assert [m[2:4] for m in data["midi"]["meta"] if m[1] == "time_signature"] == [[1, 4], [4, 4]]  # pickup, then 4/4
    assert data["grid"]["beats"] == list(beat_map.beats) and data["grid"]["downbeat_index"] == 1
    assert data["midi"]["ticks_per_beat"] == cfg.ticks_per_beat and data["midi"]["quantize"] is None
    # --classes 8: articulations folded into their drum's lane and note
    folded = page_data(events, CLASSES, cfg, beat_map, 3.0, articulations=["hihat_open"], fold=True)
    assert [folded["lanes"][i]["note"] for i in folded["events"]["lane"]] == [36, 38, 42, 42, 38, 49]
    assert all(not ln["art"] for ln in folded["lanes"])


def test_quantized_page_carries_the_snapped_ticks():
    cfg = MidiConfig()
    beat_map = BeatMap.constant(120.0, 3.0)
    data = page_data(_events(), CLASSES, cfg, beat_map, 3.0, quantize="1/8")
    assert data["midi"]["quantize"] == 0.5
    assert data["events"]["tick"][4] == 2.5 * cfg.ticks_per_beat  # 1.26 s = 2.52 quarters -> on the 1/8 grid: 2.5
    assert all(t % (cfg.ticks_per_beat // 2) == 0 for t in data["events"]["tick"])


def test_lane_table_names_every_drum_and_articulation():
    lanes = lane_table(CLASSES, MidiConfig(), ["rimshot", "ride_bell", "not_an_articulation"])
    assert [ln["name"] for ln in lanes] == [*CLASSES, "rimshot", "ride_bell"]
    assert lanes[-2]["note"] == 38 and lanes[-2]["cls"] == CLASSES.index("snare")  # a rim shot is written as 38
    assert lanes[-1]["gm"] == "Ride Bell" and all(ln["gm"] for ln in lanes)


def test_loudness_envelope_follows_the_audio():
    sr = 1000
    y = np.zeros((2 * sr, 1), np.float32)
    y[500:510] = 1.0
    y[1500:1510] = 0.25
    env = np.frombuffer(loudness_envelope(y, sr, rate=100), np.uint8)
    assert len(env) == 200 and env[50] == 255 and env[150] == round(np.sqrt(0.25) * 255) and env[0] == 0
    assert loudness_envelope(np.zeros((100, 1), np.float32), sr) == bytes(10)


def test_page_embeds_data_and_playable_audio(tmp_path, clip):
    events = _events()
    html = build_page(clip, tmp_path / "p.html", events, CLASSES, MidiConfig(), BeatMap.constant(120.0, 6.0),
                      6.0)
    data, audio = embedded(html)
    assert data["title"] == "clip.wav" and data["audio"]["mode"] == "embed" and len(data["events"]["time"]) == 6
    blob = base64.b64decode(audio)
    y, sr = sf.read(io.BytesIO(blob), dtype="float32")  # libsndfile reads back what it wrote
    assert data["audio"]["mime"] in ("audio/mpeg", "audio/ogg") and abs(len(y) / sr - 6.0) < 0.1
    kbits = len(blob) * 8 / 6.0 / 1000
    assert kbits < 130, kbits  # compact: ~96 kbit/s
    assert len(base64.b64decode(data["envelope"]["peaks"])) == 600
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html  # nothing fetched


def test_data_cannot_end_its_script_element(tmp_path, clip):
    odd = tmp_path / "<\u2215script><b>x.wav"  # a file name cannot hold "/": the title is checked with "<"
    odd.write_bytes(clip.read_bytes())
    html = build_page(odd, tmp_path / "p.html", _events(), CLASSES, MidiConfig(), BeatMap.constant(120, 6), 6)
    data, _ = embedded(html)
    assert data["title"] == odd.name
    assert "<title>&lt;\u2215script&gt;&lt;b&gt;x.wav - drumscribe review</title>" in html
    from drumscribe.transcription.review_page import _script_json

    assert "</" not in _script_json({"title": "</script><script>alert(1)</script>"})


def test_cli_writes_a_page_keeps_it_and_never_writes_the_input(tmp_path, clip, capsys):
    out = tmp_path / "clip.html"
    assert main(["transcribe", str(clip), str(out), "--quiet"]) == 0
    html = out.read_text()
    data, audio = embedded(html)
    cli_mid = tmp_path / "clip.mid"
    assert main(["transcribe", str(clip), str(cli_mid), "--quiet"]) == 0
    notes = [m for m in mido.MidiFile(cli_mid).tracks[1] if m.type == "note_on"]
    assert len(notes) == len(data["events"]["time"]) > 5
    assert len(out.read_bytes()) < 200_000  # 6 s of audio
    before = out.stat().st_mtime_ns
    assert main(["transcribe", str(clip), str(out), "--quiet"]) == 0  # exists: kept with a notice
    assert "exists" in capsys.readouterr().err and out.stat().st_mtime_ns == before
    assert main(["transcribe", str(clip), str(out), "--quiet", "--overwrite"]) == 0
    assert out.stat().st_mtime_ns != before
    src = clip.read_bytes()
    assert main(["transcribe", str(clip), str(clip), "--format", "html", "--quiet", "--overwrite"]) != 0
    assert clip.read_bytes() == src  # the input is never written
    assert "clip.wav" in capsys.readouterr().err


def test_cli_link_mode_and_folder_mode(tmp_path, clip):
    songs = tmp_path / "songs"
    songs.mkdir()
    (songs / "a.wav").write_bytes(clip.read_bytes())
    pages = tmp_path / "pages"
    assert main(["transcribe", str(songs), str(pages), "--format", "html", "--page-audio", "link", "--quiet"]) == 0
    html = (pages / "a.html").read_text()
    data, audio = embedded(html)
    assert audio == "" and data["audio"] == {"mode": "link", "mime": "audio/wav", "src": "../songs/a.wav"}
    assert (pages / data["audio"]["src"]).resolve() == (songs / "a.wav").resolve()
    assert len(html) < 60_000


def test_demo_page_is_under_one_megabyte(tmp_path):
    out = tmp_path / "demo.html"
    assert main(["transcribe", str(DEMO_CLIP), str(out), "--quiet"]) == 0
    assert out.stat().st_size < 1_000_000
    data, _ = embedded(out.read_text())
    assert len(data["events"]["time"]) > 50 and data["grid"]["meter"] in ("4/4", "3/4", "6/8")


def test_demo_writes_its_page_and_prints_its_path(tmp_path, capsys):
    d = tmp_path / "d"
    assert main(["demo", "--out", str(d), "--threads", "1"]) == 0
    page = d / "demo_clip.html"
    out = capsys.readouterr().out
    assert str(page) in out.replace("\n", "") and page.stat().st_size < 1_000_000
    data, audio = embedded(page.read_text())
    mid = mido.MidiFile(d / "demo_clip.mid")
    assert len(data["events"]["time"]) == sum(m.type == "note_on" for m in mid.tracks[1]) and audio
    page.write_text("my notes")  # a file of the user's with that name is kept
    assert main(["demo", "--out", str(d), "--threads", "1"]) == 0
    assert page.read_text() == "my notes" and "demo_clip.html" in capsys.readouterr().err


def test_silent_audio_gives_a_page_without_hits(tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(44100, np.float32), 44100)
    out = tmp_path / "silent.html"
    assert main(["transcribe", str(silent), str(out), "--quiet"]) == 0
    data, audio = embedded(out.read_text())
    assert data["events"]["time"] == [] and data["events"]["tick"] == [] and audio
    assert set(base64.b64decode(data["envelope"]["peaks"])) == {0}
