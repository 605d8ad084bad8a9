"""`drumscribe transcribe IN OUT --format chart` end to end (bundled model, demo clip): the song folder is one unit,
every output is checked before any work, and every folder written here is read back with scan-chart."""

import configparser
import json
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from drumscribe.cli import main

from chart_scan import check_song_folder

DEMO = Path(__file__).resolve().parents[1] / "src/drumscribe/data/demo/demo_clip.flac"
pytestmark = pytest.mark.skipif(not DEMO.exists(), reason="demo clip not in this checkout")
TAGS = ["--tag", "artist=drumscribe", "--tag", "genre=Electronic", "--tag", "year=2026"]


def chart(inp, out, *extra):
    return main(["transcribe", str(inp), str(out), "--format", "chart", "--threads", "1", "--quiet", *extra])


def audio_of(folder):
    found = [p for p in Path(folder).iterdir() if p.stem == "song" and p.suffix in (".opus", ".ogg")]
    assert len(found) == 1, found
    return found[0]


def short_clip(tmp_path, seconds=8.0, name="short.wav"):
    x, sr = sf.read(DEMO, always_2d=True)
    out = tmp_path / name
    sf.write(out, x[: int(seconds * sr)], sr)
    return out


def test_chart_folder_from_the_cli_reads_back_in_the_games_parser(tmp_path):
    out = tmp_path / "demo chart"
    assert chart(DEMO, out, *TAGS) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names[0] == ".drumscribe-chart.json" and set(names[1:]) in ({"notes.mid", "song.ini", "song.opus"},
                                                                       {"notes.mid", "song.ini", "song.ogg"})
    assert [t.name for t in mido.MidiFile(out / "notes.mid").tracks[1:]] == ["PART DRUMS", "BEAT", "EVENTS"]
    ini = configparser.ConfigParser()
    ini.read(out / "song.ini")
    s = ini["song"]
    assert (s["charter"], s["artist"], s["genre"], s["year"], s["pro_drums"]) == (
        "drumscribe", "drumscribe", "Electronic", "2026", "True")
    assert s["diff_drums"] == s["diff_drums_real"] and 0 <= int(s["diff_drums"]) < 6  # a 16 s groove: not the top
    assert "Unknown" not in (out / "song.ini").read_text() and int(s["preview_start_time"]) > 0
    d = check_song_folder(out, missing_ok=())  # no missing metadata, no leading-silence issue, sections
    if d is not None:
        first = min(n[0] for t in d["tracks"] for n in t["notes"])
        assert first > 0 and not any(i["noteIssue"] == "smallLeadingSilence" for i in d["chartIssues"])
    # without tags: only what the audio cannot tell is missing (documented in docs/charts.md)
    bare = tmp_path / "bare"
    assert chart(DEMO, bare) == 0
    check_song_folder(bare)


def test_chart_format_dot_chart_has_the_same_content(tmp_path):
    mid, txt = tmp_path / "mid", tmp_path / "chart"
    assert chart(DEMO, mid) == 0
    assert chart(DEMO, txt, "--chart-format", "chart") == 0
    assert (txt / "notes.chart").exists() and not (txt / "notes.mid").exists()
    a, b = check_song_folder(mid), check_song_folder(txt)
    if a is not None:
        assert [t["notes"] for t in a["tracks"]] == [t["notes"] for t in b["tracks"]]
        phrases = lambda d: [(t["starPower"], t["fills"]) for t in d["tracks"]]  # noqa: E731
        assert phrases(a) == phrases(b)
        assert [s["tick"] for s in a["sections"]] == [s["tick"] for s in b["sections"]]
    # a re-run with --overwrite keeps the folder's format (notes.chart) without the flag
    assert chart(DEMO, txt, "--overwrite") == 0
    assert (txt / "notes.chart").exists() and not (txt / "notes.mid").exists()


def test_an_existing_folder_is_kept_whole_or_replaced_whole(tmp_path, capsys):
    out = tmp_path / "song"
    assert chart(DEMO, out) == 0
    (out / "song.ini").write_text("[song]\nname = mine\n")
    (out / "notes.mid").unlink()
    (out / "notes.txt").write_bytes(b"mine")
    assert chart(DEMO, out) == 0  # no --overwrite: kept whole, not completed
    assert "name = mine" in (out / "song.ini").read_text() and not (out / "notes.mid").exists()
    assert "exists" in capsys.readouterr().err
    from drumscribe.core.atomic import writer_tag

    dead = f"{writer_tag().rsplit('-', 1)[0]}-999999"  # what kill -9 during a build or a swap leaves
    (tmp_path / f".song.tmp-{dead}-aaaa0000").mkdir()
    (tmp_path / f".song.tmp-{dead}-aaaa0000" / "notes.mid").write_bytes(b"half")
    (tmp_path / f".song.tmp-{dead}-bbbb0000").mkdir()
    (tmp_path / f".song.tmp-{dead}-bbbb0000" / "cover.jpg").write_bytes(b"a user's file moved there")
    short = short_clip(tmp_path)
    assert chart(short, out, "--overwrite") == 0  # every chart file from this run, the user's other file kept
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".song"))
    assert left == [f".song.tmp-{dead}-bbbb0000"]  # the build is removed, the one holding a user's file kept
    info = sf.info(audio_of(out))
    assert info.duration < 12.0  # the short clip's audio (plus lead-in), not the demo's 16 s: no stale audio
    assert json.loads((out / ".drumscribe-chart.json").read_text())["input"]["name"] == "short.wav"
    assert "name = short" in (out / "song.ini").read_text() and (out / "notes.mid").exists()
    assert (out / "notes.txt").read_bytes() == b"mine"
    check_song_folder(out)


def test_audio_the_chart_did_not_write_is_never_touched(tmp_path, capsys):
    out = tmp_path / "song"
    out.mkdir()
    (out / "guitar.ogg").write_bytes(b"a stem")
    assert chart(DEMO, out, "--overwrite") == 1
    assert "guitar.ogg" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["guitar.ogg"] and (out / "guitar.ogg").read_bytes() == b"a stem"
    # the input itself inside the song folder
    own = tmp_path / "own"
    own.mkdir()
    inp = own / "take.flac"
    inp.write_bytes(DEMO.read_bytes())
    assert chart(inp, own, "--overwrite") == 1
    assert sorted(p.name for p in own.iterdir()) == ["take.flac"] and inp.read_bytes() == DEMO.read_bytes()
    # a folder of other things is not made a song folder; one with only the art prepared for it is
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "letter.txt").write_text("mine")
    assert chart(DEMO, docs) == 1 and sorted(p.name for p in docs.iterdir()) == ["letter.txt"]
    art = tmp_path / "art"
    art.mkdir()
    (art / "album.png").write_bytes(b"png")
    assert chart(DEMO, art) == 0 and (art / "album.png").read_bytes() == b"png" and (art / "song.ini").exists()


def test_two_runs_into_one_folder_never_mix(tmp_path):
    short = short_clip(tmp_path)
    out = tmp_path / "song"
    code = ("import sys; from drumscribe.cli import main; sys.exit(main(['transcribe', sys.argv[1], sys.argv[2], "
            "'--format', 'chart', '--threads', '1', '--quiet', *sys.argv[3:]]))")
    for extra in (["--overwrite"], ["--overwrite"], []):  # the last pair into a new folder, without --overwrite
        if not extra:
            out = tmp_path / "song2"
        procs = [subprocess.Popen([sys.executable, "-c", code, str(x), str(out), *extra], stderr=subprocess.PIPE)
                 for x in (DEMO, short)]
        assert [p.wait(timeout=300) for p in procs] == [0, 0], [p.stderr.read() for p in procs]
        rec = json.loads((out / ".drumscribe-chart.json").read_text())
        name = rec["input"]["name"]
        ini = configparser.ConfigParser()
        ini.read(out / "song.ini")
        assert ini["song"]["name"] == Path(name).stem  # song.ini, record and audio of one run
        long = sf.info(audio_of(out)).duration > 12.0
        assert long == (name == DEMO.name)
        assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(
            n for n in rec["files"] if not n.startswith("."))
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".song")]  # no build folder left
        if not extra:  # one of the two was kept out whole, with a notice
            assert b"exists" in b"".join(p.stderr.read() for p in procs)
        check_song_folder(out)


def test_plot_follows_the_output_checks(tmp_path, capsys):
    out = tmp_path / "song"
    precious = tmp_path / "precious.png"
    precious.write_bytes(b"mine")
    assert chart(DEMO, out, "--plot", str(precious)) == 0  # an existing plot is kept without --overwrite
    assert precious.read_bytes() == b"mine" and not out.exists()  # the run is skipped whole, as in the other modes
    assert "precious.png exists" in capsys.readouterr().err
    assert chart(DEMO, out, "--plot", str(tmp_path / "roll.png")) == 0
    assert (tmp_path / "roll.png").read_bytes()[:4] == b"\x89PNG"
    check_song_folder(out)
    for bad in (tmp_path / "roll.txt", tmp_path / "other.wav"):  # refused before any work
        assert chart(DEMO, tmp_path / "x", "--plot", str(bad)) == 2
        assert not (tmp_path / "x").exists() and not bad.exists()
    inp = tmp_path / "in.png.flac"
    inp.write_bytes(DEMO.read_bytes())
    capsys.readouterr()
    assert chart(inp, tmp_path / "y", "--plot", str(inp), "--overwrite") != 0  # the plot names the input
    assert inp.read_bytes() == DEMO.read_bytes() and not (tmp_path / "y").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]


@pytest.mark.parametrize("opt", [["--midi-tracks", "per-drum"], ["--quantize", "1/16"], ["--tag", "colour=red"]])
def test_options_a_chart_cannot_honour_are_refused(tmp_path, capsys, opt):
    assert chart(DEMO, tmp_path / "song", *opt) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and opt[0] in err[0] and not (tmp_path / "song").exists()


def test_chart_only_options_without_a_chart_are_refused(tmp_path, capsys):
    assert main(["transcribe", str(DEMO), str(tmp_path / "x.mid"), "--chart-format", "chart", "--quiet"]) == 2
    assert "--chart-format" in capsys.readouterr().err and not (tmp_path / "x.mid").exists()


def test_an_unwritable_song_folder_is_found_before_the_transcription(tmp_path, capsys, monkeypatch):
    import drumscribe.commands.transcribe as cmd

    def no_model(*a, **k):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(cmd, "load_for_transcription", no_model)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert chart(DEMO, blocker / "song") == 1  # a file where a folder is needed
    assert chart(DEMO, blocker) == 1  # the song folder is a file
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(str(blocker) in line for line in err)
    assert blocker.read_text() == "x"


def test_folder_mode_rerun_takes_no_outputs_as_inputs_and_plots_per_song(tmp_path):
    songs = tmp_path / "songs"
    songs.mkdir()
    short_clip(songs, 6.0, "a.wav")
    short_clip(songs, 7.0, "b.flac")
    plots = tmp_path / "plots"
    assert main(["transcribe", str(songs), str(songs), "--format", "chart", "--threads", "1", "--quiet",
                 "--plot", str(plots)]) == 0
    assert sorted(p.name for p in songs.iterdir()) == ["a", "a.wav", "b", "b.flac"]
    assert sorted(p.name for p in plots.iterdir()) == ["a.png", "b.png"]
    before = {p: p.stat().st_mtime_ns for p in songs.rglob("*") if p.is_file()}
    assert main(["transcribe", str(songs), str(songs), "--format", "chart", "--threads", "1", "--quiet"]) == 0
    after = {p: p.stat().st_mtime_ns for p in songs.rglob("*") if p.is_file()}
    assert after == before  # kept whole; no song.opus taken as an input
    for s in ("a", "b"):
        assert not [p for p in (songs / s).iterdir() if p.is_dir()]
        check_song_folder(songs / s)


def test_eight_channels_are_downmixed_and_tags_cannot_inject_ini_lines(tmp_path):
    x, sr = sf.read(DEMO, always_2d=True)
    eight = np.zeros((len(x), 8), np.float32)
    eight[:, 2:] = x[:, :1] * 0.5  # the first two channels silent
    inp = tmp_path / "eight.flac"
    with sf.SoundFile(inp, "w", sr, 8, format="FLAC") as f:
        f.title = "Title\n[song2]\ncharter = evil"
        f.artist = "Band\r\npro_drums = False"
        f.write(eight)
    out = tmp_path / "song"
    assert chart(inp, out) == 0
    y, _ = sf.read(audio_of(out), always_2d=True)
    assert y.shape[1] == 2 and np.max(np.abs(y)) > 0.05
    text = (out / "song.ini").read_text()
    lines = text.splitlines()
    assert [ln for ln in lines if ln.startswith("[")] == ["[song]"]
    assert [ln.split(" = ")[0] for ln in lines[1:] if ln].count("charter") == 1
    ini = configparser.ConfigParser()
    ini.read_string(text)
    assert ini.sections() == ["song"] and ini["song"]["pro_drums"] == "True" and ini["song"]["charter"] == "drumscribe"
    assert ini["song"]["name"].startswith("Title")
    check_song_folder(out)


def test_per_drum_tracks_from_the_cli(tmp_path):
    one, per = tmp_path / "one.mid", tmp_path / "per.mid"
    assert main(["transcribe", str(DEMO), str(one), "--threads", "1", "--quiet"]) == 0
    assert main(["transcribe", str(DEMO), str(per), "--threads", "1", "--quiet", "--midi-tracks", "per-drum"]) == 0
    a, b = mido.MidiFile(one), mido.MidiFile(per)
    assert [t.name for t in a.tracks[1:]] == ["drums"]
    assert len(b.tracks) > 3 and "kick" in [t.name for t in b.tracks]

    def notes(mf):
        now, out = 0, []
        for m in mido.merge_tracks(mf.tracks):
            now += m.time
            if m.type == "note_on" and m.velocity > 0:
                out.append((now, m.note, m.velocity, m.channel))
        return sorted(out)

    assert notes(a) == notes(b)


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root writes into read-only folders")
def test_a_read_only_parent_is_found_before_the_transcription(tmp_path, capsys, monkeypatch):
    import drumscribe.commands.transcribe as cmd

    monkeypatch.setattr(cmd, "load_for_transcription", lambda *a, **k: (_ for _ in ()).throw(AssertionError("loaded")))
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert chart(DEMO, ro / "song") == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(ro) in err[0] and ".tmp-" not in err[0]
    finally:
        ro.chmod(0o700)
