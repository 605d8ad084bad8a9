"""The review page in a real browser (headless Chromium through selenium; skipped where either is absent).

One page made by ``drumscribe transcribe clip.wav clip.html`` (the first 8 s of the bundled demo clip) is opened
once; the tests check that every event is drawn, that playback moves the cursor (also at half speed), that the
downloaded MIDI equals the CLI's MIDI event for event, that removing, adding, moving and undoing hits change the
downloaded MIDI accordingly, and take a screenshot.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from drumscribe.transcription.review.browser import chromium, missing

pytestmark = pytest.mark.skipif(missing() is not None, reason=f"no headless browser: {missing()}")

CAPTURE = """
window.__downloads = [];
const orig = URL.createObjectURL;
URL.createObjectURL = function (blob) { window.__downloads.push(blob); return orig.call(URL, blob); };
"""
READ_LAST = """
const done = arguments[arguments.length - 1];
const blob = window.__downloads[window.__downloads.length - 1];
blob.arrayBuffer().then((b) => done(Array.from(new Uint8Array(b))));
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """(page, the CLI's MIDI and JSON of the same clip)."""
    import soundfile as sf

    from drumscribe.cli import main
    from drumscribe.commands.demo import DEMO_CLIP

    root = tmp_path_factory.mktemp("review")
    y, sr = sf.read(DEMO_CLIP, dtype="float32")
    clip = root / "clip.wav"
    sf.write(clip, y[: 8 * sr], sr)
    assert main(["transcribe", str(clip), str(root / "clip.html"), "--quiet"]) == 0
    assert main(["transcribe", str(clip), str(root / "clip.mid"), "--quiet"]) == 0
    assert main(["transcribe", str(clip), str(root / "clip.json"), "--quiet"]) == 0
    return root / "clip.html", root / "clip.mid", root / "clip.json"


@pytest.fixture(scope="module")
def browser():
    with chromium(1400, 800) as driver:
        yield driver


@pytest.fixture
def page(browser, made):
    browser.get(made[0].as_uri())
    browser.execute_script(CAPTURE)
    for _ in range(50):
        if browser.execute_script("return !!(window.drumscribeReview && window.drumscribeReview.state.firstDrawMs)"):
            break
        time.sleep(0.1)
    return browser


def state(driver) -> dict:
    return driver.execute_script("return window.drumscribeReview.state")


def downloaded_midi(driver):
    import mido

    driver.find_element("id", "dlmidi").click()
    return mido.MidiFile(file=io.BytesIO(bytes(driver.execute_async_script(READ_LAST))))


def messages(mf) -> list[list]:
    """Every event of every track: (track, type, delta time, attributes) - what 'event for event' compares."""
    return [[i, m.type, m.time, {k: v for k, v in m.dict().items() if k not in ("type", "time")}]
            for i, tr in enumerate(mf.tracks) for m in tr]


def notes(mf) -> list[tuple[int, int]]:
    out, now = [], 0
    for m in mf.tracks[1]:
        now += m.time
        if m.type == "note_on":
            out.append((now, m.note))
    return out


def click_canvas(driver, x: float, y: float, dx: float = 0.0) -> None:
    """Press at canvas pixel (x, y), move by ``dx`` pixels, release (selenium offsets are from the centre)."""
    from selenium.webdriver.common.action_chains import ActionChains

    cv = driver.find_element("id", "lanes")
    w, h = cv.size["width"], cv.size["height"]
    chain = ActionChains(driver).move_to_element_with_offset(cv, int(round(x - w / 2)), int(round(y - h / 2)))
    chain = chain.click_and_hold()
    if dx:
        chain = chain.move_by_offset(int(dx / 2), 0).move_by_offset(int(dx - int(dx / 2)), 0)
    chain.release().perform()


def test_every_event_is_drawn(page):
    s = state(page)
    n = len(s["events"])
    assert n > 20 and s["drawn"] == n and len(s["hitBoxes"]) == n  # the fitted view shows the whole clip
    # the canvas really holds a coloured mark at every hit (lane backgrounds and grid lines are grey)
    colours = page.execute_script("""
        const cv = document.getElementById('lanes'), c = cv.getContext('2d'), r = cv.width / cv.clientWidth;
        return window.drumscribeReview.state.hitBoxes.map(([seq, x, y]) => {
            const p = c.getImageData(Math.round((x + 2) * r), Math.round(y * r), 1, 1).data;
            return Math.max(p[0], p[1], p[2]) - Math.min(p[0], p[1], p[2]);
        });""")
    assert min(colours) > 30, colours
    lanes_used = {e["lane"] for e in s["events"]}
    assert lanes_used <= set(s["lanes"])
    heads = page.find_elements("css selector", "#heads .head")
    assert len(heads) == len(s["lanes"]) and "Bass Drum 1" in heads[0].text
    assert "bpm" in page.find_element("id", "tempo").text


def test_playback_moves_the_cursor_at_the_chosen_speed(page):
    from selenium.webdriver.support.ui import Select

    page.find_element("id", "play").click()
    time.sleep(1.2)
    s = state(page)
    song_t = page.execute_script("return document.getElementById('song').currentTime")
    page.find_element("id", "play").click()
    assert s["playing"] and 0.6 < s["position"] < 2.5, s["position"]
    assert s["songReady"] and song_t > 0.5  # the embedded song itself plays
    paused = state(page)["position"]
    time.sleep(0.3)
    assert state(page)["position"] == paused and not state(page)["playing"]
    Select(page.find_element("id", "speed")).select_by_value("0.5")
    page.execute_script("window.__t0 = window.drumscribeReview.state.position")
    page.find_element("id", "play").click()
    time.sleep(1.2)
    moved = page.execute_script("return window.drumscribeReview.state.position - window.__t0")
    page.find_element("id", "play").click()
    assert 0.3 < moved < 0.9, moved  # half speed: about 0.6 s of song in 1.2 s


def test_downloaded_midi_without_edits_equals_the_cli_midi(page, made):
    import mido

    mine, cli = downloaded_midi(page), mido.MidiFile(made[1])
    assert mine.ticks_per_beat == cli.ticks_per_beat and mine.type == cli.type
    assert messages(mine) == messages(cli)


def test_remove_add_move_and_undo_change_the_downloaded_midi(page):
    original = notes(downloaded_midi(page))
    s = state(page)
    seq, x, y = s["hitBoxes"][len(s["hitBoxes"]) // 2]
    ev = next(e for e in s["events"] if e["seq"] == seq)
    click_canvas(page, x, y)  # a click on a hit removes it
    after = notes(downloaded_midi(page))
    assert len(after) == len(original) - 1
    assert sorted(set(original) - set(after)) and all(n == ev["note"] for _, n in set(original) - set(after))
    # a click in an empty spot of the first lane (kick) adds one there, snapped to the 1/16 grid
    s = state(page)
    row_y = s["laneTop"][0] + s["laneHeight"] / 2
    busy = [bx for _, bx, by in s["hitBoxes"] if abs(by - row_y) < 1]
    x_free = next((a + b) / 2 for a, b in zip(busy, busy[1:]) if b - a > 40)
    click_canvas(page, x_free, row_y)
    added = notes(downloaded_midi(page))
    new = sorted(set(added) - set(after))
    lane0 = state(page)["lanes"][0]
    lane_note = next(e["note"] for e in state(page)["events"] if e["lane"] == lane0)
    assert len(added) == len(after) + 1 and len(new) == 1 and new[0][1] == lane_note
    assert new[0][0] % 120 == 0  # on the 1/16 grid of a 480-tick quarter (the grid is the CLI's tempo map)
    # drag that new hit (drawn where the grid put it) 60 px to the right: same note, later tick
    s = state(page)
    new_seq = max(e["seq"] for e in s["events"])
    _, nx, ny = next(h for h in s["hitBoxes"] if h[0] == new_seq)
    click_canvas(page, nx, ny, dx=60)
    moved = notes(downloaded_midi(page))
    newer = sorted(set(moved) - set(after))
    assert len(moved) == len(added) and newer[0][1] == lane_note and newer[0][0] > new[0][0]
    # undo three times: the CLI's notes again
    for _ in range(3):
        page.find_element("id", "undo").click()
    assert notes(downloaded_midi(page)) == original


def test_json_download_and_screenshot(page, made, tmp_path):
    import json

    page.find_element("id", "dljson").click()
    doc = json.loads(bytes(page.execute_async_script(READ_LAST)))
    cli = json.loads(made[2].read_text())  # the page's JSON without edits: the CLI's, bar/beat recomputed in JS
    assert doc["class_names"] == cli["class_names"] and doc["tempo"] == cli["tempo"]
    assert len(doc["events"]) == len(cli["events"]) > 20
    for mine, theirs in zip(doc["events"], cli["events"]):
        assert list(mine) == list(theirs)
        assert {k: v for k, v in mine.items() if k != "beat"} == {k: v for k, v in theirs.items() if k != "beat"}
        assert mine["beat"] == pytest.approx(theirs["beat"], abs=2e-4)
    shot = tmp_path / "review.png"
    assert page.save_screenshot(str(shot))
    from PIL import Image

    img = Image.open(shot).convert("RGB")
    import numpy as np

    small = np.asarray(img.resize((64, 32))).reshape(-1, 3)
    assert img.size[0] >= 1000 and len(np.unique(small, axis=0)) > 50  # a drawn page, not a blank one


@pytest.mark.parametrize("options", [["--midi-tracks", "per-drum"], ["--quantize", "1/16", "--classes", "8"]])
def test_round_trip_with_the_cli_midi_options(browser, made, tmp_path, options):
    """The page's MIDI follows --midi-tracks / --quantize / --classes as the CLI's does, event for event."""
    import mido

    from drumscribe.cli import main

    clip = made[0].with_suffix(".wav")
    assert main(["transcribe", str(clip), str(tmp_path / "p.html"), "--quiet", *options]) == 0
    assert main(["transcribe", str(clip), str(tmp_path / "p.mid"), "--quiet", *options]) == 0
    browser.get((tmp_path / "p.html").as_uri())
    mine = mido.MidiFile(file=io.BytesIO(bytes(browser.execute_script("return window.drumscribeReview.midiBytes()"))))
    cli = mido.MidiFile(tmp_path / "p.mid")
    assert len(cli.tracks) == len(mine.tracks) and messages(mine) == messages(cli)
