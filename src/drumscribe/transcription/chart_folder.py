"""A Clone Hero / YARG song folder as one unit: ``notes.mid`` (or ``notes.chart``), ``song.ini``, the audio
(``song.opus``, or ``song.ogg``), and :data:`RECORD` (what made it).

The folder rule (:mod:`drumscribe.core.outputs`, one unit):

* checked before any work (:func:`plan_folder`): a file where the folder goes, a folder that cannot be written,
  audio in it that this project did not write for it (a stem, the input itself: the chart would play over it),
  a folder that is not a song folder (other files than images) are refused in one line; an existing chart
  folder is kept whole (a notice) unless ``--overwrite``;
* built in a temp folder beside the target and renamed into its place under a lock
  (:func:`~drumscribe.core.atomic.swap_folder`): with ``--overwrite`` every file of the folder is from this run
  (no stale ``song.ogg`` under a new chart); files the user added that are not chart files (album art) are kept;
  two runs into one folder at once give the folder of one of them, whole (the second is kept out or replaces it
  whole, by the same rule re-checked under the lock).

The audio (``Supported-Audio-Files.md``: ``.opus`` 80 kbps "highly recommended", ``.ogg`` at quality 8) is Opus at
:data:`OPUS_BITRATE` through PyAV's libopus, at 48 kHz, with :func:`~drumscribe.transcription.chart.lead_in_needed`
seconds of silence in front; it is encoded in a thread while the model transcribes (:class:`AudioJob`).  An Ogg/Opus
input that already starts with enough silence is copied.  More than two channels are downmixed to stereo
(:func:`downmix`), never cut to the first two.  PyAV is the ``chart`` extra (:data:`OPUS_EXTRA`, not the base
install); without it, ``song.ogg`` (Vorbis, quality 8, libsndfile) and one line naming the extra
(:func:`vorbis_notice`).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHART_NAMES = {"mid": "notes.mid", "chart": "notes.chart"}
INI_NAME = "song.ini"
RECORD = ".drumscribe-chart.json"
AUDIO_NAMES = ("song.opus", "song.ogg")
OPUS_RATE = 48_000  # Opus runs at 48 kHz
OPUS_BITRATE = 80_000  # Supported-Audio-Files.md: "80 kbps"
OPUS_COMPLEXITY = 0  # libopus 0-10: 0 encodes ~2.4x faster than 10 (160 s: 0.46 vs 1.10 CPU s), same bitrate
VORBIS_LEVEL = 0.2  # libsndfile compression level 0.2 = Vorbis quality 8 (the fallback without PyAV)
OPUS_EXTRA = "chart"  # the pyproject extra that brings PyAV (song.opus)
TAIL_S = 1.0  # the audio ends at least this long after its last sound (the end events go there, after the last gem)
AUDIO_BLOCK = 48_000  # frames per encoder call (libsndfile's Vorbis encoder crashed on one long write)
TAG_KEYS = ("name", "artist", "album", "genre", "year")
ART_SUFFIXES = (".png", ".jpg", ".jpeg")  # album art / backgrounds a user may put in a new song folder first
# WAVE channel order (FL FR FC LFE BL BR SL SR): weight of each channel in the left / right of the stereo downmix
_SIDE = 0.7071
DOWNMIX = {
    6: ([1, 0, _SIDE, 0, _SIDE, 0], [0, 1, _SIDE, 0, 0, _SIDE]),
    8: ([1, 0, _SIDE, 0, _SIDE, 0, _SIDE, 0], [0, 1, _SIDE, 0, 0, _SIDE, 0, _SIDE]),
}


# ------------------------------------------------------------------ metadata

def song_tags(audio_path, given: dict | None = None) -> dict:
    """``{name, artist, album, genre, year}`` (sanitised; unknown ones left out): ``given`` (``--tag``) first,
    then the audio's tags, then ``Artist - Title`` from the file name (name: the file name); the album of a song
    with no album tag is its own name (a single), the year is the first four-digit year of the date tag."""
    import re

    from drumscribe.core.sanitize import clean_text

    meta = {}
    try:
        import soundfile as sf

        with sf.SoundFile(str(audio_path)) as f:
            meta = f.copy_metadata()
    except Exception:  # not readable by libsndfile, or no tags
        pass
    tags = {"name": meta.get("title", ""), "artist": meta.get("artist", ""), "album": meta.get("album", ""),
            "genre": meta.get("genre", ""), "year": ""}
    m = re.search(r"\b(\d{4})\b", str(meta.get("date", "")))
    if m:
        tags["year"] = m.group(1)
    stem = Path(audio_path).stem
    if " - " in stem:
        a, b = stem.split(" - ", 1)
        tags["artist"] = tags["artist"] or a
        tags["name"] = tags["name"] or b
    tags["name"] = tags["name"] or stem
    tags.update({k: v for k, v in (given or {}).items() if v})
    tags = {k: clean_text(v) for k, v in tags.items()}
    tags["album"] = tags["album"] or tags["name"]
    return {k: v for k, v in tags.items() if v}


def song_ini_text(tags: dict, chart, audio_length: float) -> str:
    """``song.ini`` (format notes, ``song-ini/Standard-Tags.md``); every value from outside is sanitised."""
    from drumscribe.core.sanitize import clean_text
    from drumscribe.transcription.chart import difficulty_rating

    diff = difficulty_rating(chart.levels["expert"], chart.seconds)
    lines = ["[song]"] + [f"{k} = {clean_text(tags[k])}" for k in TAG_KEYS if tags.get(k)]
    lines += ["charter = drumscribe", "pro_drums = True", f"diff_drums = {diff}", f"diff_drums_real = {diff}",
              f"preview_start_time = {int(chart.preview_ms)}", f"song_length = {int(round(audio_length * 1000))}",
              "delay = 0", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------ audio

def downmix(data: np.ndarray) -> np.ndarray:
    """``(samples, channels)`` -> at most two channels: 5.1 / 7.1 (WAVE order) with the ITU-style weights of
    :data:`DOWNMIX`, any other count > 2 the mean of all channels; scaled down only if the sum would clip."""
    c = data.shape[1]
    if c <= 2:
        return data
    if c in DOWNMIX:
        w = np.asarray(DOWNMIX[c], dtype=np.float32).T  # (channels, 2)
        out = data @ w
    else:
        out = np.repeat(data.mean(axis=1, keepdims=True), 2, axis=1)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    return out / peak * 0.99 if peak > 1.0 else out


def read_audio(path) -> tuple[np.ndarray, int]:
    """``((samples, channels) float32, rate)``; formats libsndfile cannot read through the project's loader (mono)."""
    import soundfile as sf

    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception:
        from drumscribe.audio.io import load_audio

        sr = OPUS_RATE
        data = load_audio(path, sr)[:, None]
    return data, int(sr)


def encode_opus(data: np.ndarray, sr: int) -> bytes:
    import io

    import av
    import soxr

    if sr != OPUS_RATE:
        data = soxr.resample(data, sr, OPUS_RATE, quality="HQ").astype(np.float32, copy=False)
    layout = "mono" if data.shape[1] == 1 else "stereo"
    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as box:
        st = box.add_stream("libopus", rate=OPUS_RATE, layout=layout)
        st.bit_rate = OPUS_BITRATE
        st.codec_context.options = {"compression_level": str(OPUS_COMPLEXITY), "application": "audio"}
        for i in range(0, len(data), AUDIO_BLOCK):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data[i:i + AUDIO_BLOCK].T), format="fltp",
                                               layout=layout)
            frame.sample_rate = OPUS_RATE
            for pkt in st.encode(frame):
                box.mux(pkt)
        for pkt in st.encode(None):
            box.mux(pkt)
    return buf.getvalue()


def encode_vorbis(data: np.ndarray, sr: int) -> bytes:
    import io

    import soundfile as sf

    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", sr, data.shape[1], format="OGG", subtype="VORBIS",
                      compression_level=VORBIS_LEVEL) as out:
        for i in range(0, len(data), AUDIO_BLOCK):
            out.write(data[i:i + AUDIO_BLOCK])
    return buf.getvalue()


def have_opus() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def vorbis_notice(folder, audio_path, audio: tuple) -> str | None:
    """The one line a song folder gets when its audio was encoded as Vorbis for want of PyAV (None otherwise: Opus
    written, or the input's own Ogg copied)."""
    name, data = audio[0], audio[1]
    if name != "song.ogg" or have_opus() or len(data) == Path(audio_path).stat().st_size:
        return None
    return (f"drumscribe transcribe: note: {Path(folder) / name} is Vorbis (quality 8); for Opus, the format the "
            f"games recommend, pip install \"drumscribe[{OPUS_EXTRA}]\" (PyAV)")


def song_audio(path) -> tuple[str, bytes, float, float]:
    """``(file name, bytes, lead-in seconds added, audio seconds in all)`` of the song folder's audio: silence is
    added in front (:func:`~drumscribe.transcription.chart.lead_in_needed`) and at the end (:data:`TAIL_S` after
    the last sound) where the audio has too little."""
    from drumscribe.core.errors import AudioError
    from drumscribe.transcription.chart import LEAD_IN_S, first_sound, lead_in_needed

    p = Path(path)
    data, sr = read_audio(p)
    pad = lead_in_needed(first_sound(data[: int(LEAD_IN_S * sr) + 1], sr))  # only the head can need a lead-in
    tail_n = int(TAIL_S * sr) + 1
    tail = max(0.0, TAIL_S - first_sound(data[::-1][:tail_n], sr))  # too little silence after the last sound
    length = len(data) / sr + pad + tail
    if pad == 0 and tail == 0 and p.suffix.lower() in (".ogg", ".opus") and data.shape[1] <= 2:
        return ("song.opus" if p.suffix.lower() == ".opus" else "song.ogg"), p.read_bytes(), 0.0, length
    data = downmix(data)
    head_n, tail_n = int(round(pad * sr)), int(round(tail * sr))
    if head_n or tail_n:
        data = np.concatenate([np.zeros((head_n, data.shape[1]), np.float32), data,
                               np.zeros((tail_n, data.shape[1]), np.float32)])
        pad = head_n / sr
        length = len(data) / sr
    try:
        if have_opus():
            return "song.opus", encode_opus(data, sr), pad, length
        return "song.ogg", encode_vorbis(data, sr), pad, length
    except Exception as exc:
        raise AudioError(f"{p}: could not encode the song's audio: {exc}") from None


class AudioJob:
    """:func:`song_audio` in a thread, started before the transcription (the encoders release the GIL)."""

    def __init__(self, path):
        self.path = path
        self._out = None
        self._err = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            self._out = song_audio(self.path)
        except BaseException as exc:  # re-raised in result()
            self._err = exc

    def result(self) -> tuple[str, bytes, float, float]:
        self._thread.join()
        if self._err is not None:
            raise self._err
        return self._out


# ------------------------------------------------------------------ the folder unit

@dataclass
class FolderPlan:
    """What :func:`plan_folder` decided: ``write`` (else the folder is kept whole), the chart format (``mid`` or
    ``chart``), ``carry`` (the user's non-chart files that stay), ``notice`` (the line printed when kept)."""

    write: bool
    chart_format: str
    carry: list = field(default_factory=list)
    notice: str = ""


def _ours(folder: Path) -> set:
    try:
        return set(json.loads((folder / RECORD).read_text()).get("files", []))
    except (OSError, ValueError, AttributeError):
        return set()


def is_song_folder(folder) -> bool:
    """A chart's song folder (this project's, or anyone's: a chart file beside a song.ini)."""
    folder = Path(folder)
    return (folder / RECORD).exists() or ((folder / INI_NAME).exists()
                                          and any((folder / n).exists() for n in CHART_NAMES.values()))


def plan_folder(folder, inputs, overwrite: bool, chart_format: str | None = None) -> FolderPlan:
    """The folder rule for one song folder, before any work (see the module docstring).  Raises
    :class:`~drumscribe.core.errors.OutputExistsError` / ``OSError`` (one line, naming the path)."""
    from drumscribe.core.atomic import check_destination
    from drumscribe.core.errors import OutputExistsError
    from drumscribe.core.filetypes import AUDIO_SUFFIXES
    from drumscribe.core.outputs import file_ids, skip_notice

    folder = Path(folder)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise OutputExistsError(f"{folder}: is a file; a chart needs a folder")
    check_destination(folder / INI_NAME)  # a folder (or its parent) that cannot be written fails now
    if folder.exists():
        check_destination(folder.parent / f".{folder.name}.probe")  # the swap renames inside the parent
    existing = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    if chart_format is None:
        chart_format = "chart" if "notes.chart" in existing and "notes.mid" not in existing else "mid"
    if not existing:
        return FolderPlan(True, chart_format)
    ours = _ours(folder)
    input_ids = file_ids(list(inputs))
    chart_files = set(CHART_NAMES.values()) | {INI_NAME, RECORD} | set(AUDIO_NAMES)
    for name in existing:
        p = folder / name
        if any(k in input_ids for k in file_ids([p])):
            raise OutputExistsError(f"{p}: is the input; a song folder is written whole, so choose another folder")
        if Path(name).suffix.lower() in AUDIO_SUFFIXES and name not in ours:
            raise OutputExistsError(f"{p}: audio this chart did not write; a chart beside it would play over it "
                                    "(refusing to mix; choose another folder)")
        if (p.is_dir() and not p.is_symlink()) and name not in ours:
            raise OutputExistsError(f"{p}: a folder inside the song folder; refusing to mix (choose another folder)")
    if not any(n in chart_files for n in existing):  # not a song folder yet: only art prepared for it joins
        other = [n for n in existing if Path(n).suffix.lower() not in ART_SUFFIXES]
        if other:
            raise OutputExistsError(f"{folder}: not a song folder (it holds {other[0]}); choose a new or empty folder")
        return FolderPlan(True, chart_format, carry=existing)
    if not overwrite:
        return FolderPlan(False, chart_format, notice=skip_notice("transcribe", folder))
    carry = [n for n in existing if n not in chart_files and n not in ours]
    return FolderPlan(True, chart_format, carry=carry)


def write_chart_folder(folder, audio_path, chart, tags: dict, audio: tuple, overwrite: bool = False,
                       chart_format: str | None = None, record: dict | None = None) -> list[Path]:
    """Build the song folder beside ``folder`` and swap it in under the lock (the plan re-checked there).
    ``audio``: :meth:`AudioJob.result`.  Returns the files written ([] when the folder was kept)."""
    from drumscribe.core.atomic import swap_folder
    from drumscribe.core.outputs import build_beside, folder_lock
    from drumscribe.transcription.chart import notes_mid_bytes
    from drumscribe.transcription.chart_text import chart_bytes

    folder = Path(folder)
    plan = plan_folder(folder, [audio_path], overwrite, chart_format)
    if not plan.write:
        print(plan.notice, file=sys.stderr)
        return []
    audio_name, audio_bytes, _, length = audio
    if plan.chart_format == "chart":
        chart_name, chart_data = "notes.chart", chart_bytes(chart, tags.get("name", ""), tags.get("artist", ""),
                                                            audio_name, tags)
    else:
        chart_name, chart_data = "notes.mid", notes_mid_bytes(chart)
    files = {chart_name: chart_data, INI_NAME: song_ini_text(tags, chart, length).encode(), audio_name: audio_bytes}
    files[RECORD] = (json.dumps({**(record or {}), "files": sorted(files) + [RECORD]}, indent=1) + "\n").encode()
    build = build_beside(folder, owned=set(CHART_NAMES.values()) | {INI_NAME, RECORD} | set(AUDIO_NAMES))
    try:
        for name, data in files.items():
            with open(build / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        with folder_lock(folder):
            plan = plan_folder(folder, [audio_path], overwrite, plan.chart_format)  # another run may have finished
            if not plan.write:
                print(plan.notice, file=sys.stderr)
                return []
            swap_folder(build, folder, plan.carry)
    finally:
        if build.exists():
            import shutil

            shutil.rmtree(build, ignore_errors=True)  # kept out, or the swap failed
    return [folder / n for n in files]


def parse_tags(items) -> dict:
    """``--tag KEY=VALUE`` options -> ``{key: value}`` (keys: :data:`TAG_KEYS`; a bad one is a ConfigError)."""
    from drumscribe.core.errors import ConfigError

    out = {}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        key = key.strip().lower()
        if not sep or key not in TAG_KEYS:
            raise ConfigError(f"--tag {item!r}: expected KEY=VALUE with KEY one of {', '.join(TAG_KEYS)}")
        out[key] = value.strip()
    return out


def export_song_folder(folder, audio_path, events, class_names, beat_map, audio_job: AudioJob, args) -> list[Path]:
    """The song folder of one transcription (``transcribe --format chart``): the chart is built on the audio's
    lead-in, then written as a unit (:func:`write_chart_folder`)."""
    from drumscribe.core.version import __version__
    from drumscribe.transcription.chart import build_chart

    audio = audio_job.result()
    _, _, pad, length = audio
    chart = build_chart(events, class_names, beat_map, length - pad, pad)
    tags = song_tags(audio_path, parse_tags(getattr(args, "tag", None)))
    p = Path(audio_path)
    st = p.stat()
    record = {"drumscribe": __version__, "input": {"name": p.name, "bytes": st.st_size, "mtime": st.st_mtime},
              "lead_in_s": round(pad, 6),
              "options": {k: getattr(args, k, None) for k in ("checkpoint", "threshold", "velocity", "tempo", "meter",
                                                              "classes", "chart_format", "overrides")},
              "tags": tags}
    written = write_chart_folder(folder, audio_path, chart, tags, audio, bool(getattr(args, "overwrite", False)),
                                 getattr(args, "chart_format", None), record)
    notice = vorbis_notice(folder, audio_path, audio) if written else None
    if notice:
        print(notice, file=sys.stderr)
    return written
