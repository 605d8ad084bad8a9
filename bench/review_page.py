"""The review page (``drumscribe transcribe song.wav song.html``): sizes, open + first draw, drawing cost.

    .venv/bin/python bench/review_page.py [--seconds 180] [--long 600] [--hits 5000] [--repeat 3]
                                          [--screenshot docs/review_page.png]

1. Page sizes: the bundled 16 s demo clip and a ``--seconds`` toy-drum song (44.1 kHz stereo, bench/transcribe.py's
   ``make_wav``), both transcribed by the CLI with the bundled model (goals, issue 33: < 1 MB and < 5 MB).
2. Open + first draw in headless Chromium (review/browser.py): the page's own ``firstDrawMs`` (performance.now()
   at the end of its first draw, counted from navigation start), best of ``--repeat`` fresh loads (goal: < 1 s
   for the 3-minute song).
3. A ``--long`` s page with ``--hits`` hand-placed hits (the toy-drum audio, a constant 120 bpm grid): its size,
   first draw, and the page's draw times (``drawMs``) with the whole song in view (every hit drawn), while
   scrolling at the default zoom (wheel events, one draw per animation frame) and while playing (frame gaps).
4. ``--screenshot``: the demo page, paused after 6 s of playback, for the README.
Needs chromium, chromedriver and selenium (``./run`` installs them when root).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCROLL = """
const done = arguments[arguments.length - 1], cv = document.getElementById('lanes');
const n0 = window.drumscribeReview.state.drawMs.length;
let k = 0;
function step() {
  if (k++ >= 240) { done(window.drumscribeReview.state.drawMs.slice(n0)); return; }
  cv.dispatchEvent(new WheelEvent('wheel', {deltaY: 40, bubbles: true, cancelable: true}));
  requestAnimationFrame(step);
}
requestAnimationFrame(step);
"""
FRAMES = """
const done = arguments[arguments.length - 1], gaps = [];
let last = performance.now(), t0 = last;
function step(now) {
  gaps.push(now - last); last = now;
  if (now - t0 < arguments_ms) requestAnimationFrame(step); else done(gaps);
}
requestAnimationFrame(step);
"""


def stats(xs) -> str:
    import numpy as np

    a = np.asarray(xs, dtype=float)
    if not len(a):
        return "none"
    return f"n {len(a)}, mean {a.mean():.2f} ms, p95 {np.percentile(a, 95):.2f} ms, max {a.max():.2f} ms"


def first_draw(driver, page: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        driver.get("about:blank")
        driver.get(page.as_uri())
        for _ in range(100):
            ms = driver.execute_script("return window.drumscribeReview && window.drumscribeReview.state.firstDrawMs")
            if ms:
                break
            time.sleep(0.05)
        best = min(best, float(ms))
    return best


def long_page(tmp: Path, seconds: float, hits: int) -> Path:
    """A ``seconds`` toy-drum page with ``hits`` events spread over the kick/snare/hi-hat/tom/cymbal lanes."""
    import numpy as np

    from transcribe import make_wav

    from drumscribe.core.config import MidiConfig
    from drumscribe.core.drums import CLASSES
    from drumscribe.transcription.beats import BeatMap
    from drumscribe.transcription.decoding import Event
    from drumscribe.transcription.review_page import write_review_page

    wav = tmp / "long.wav"
    make_wav(wav, seconds)
    rng = np.random.default_rng(0)
    times = np.sort(rng.uniform(0.0, seconds - 0.1, hits))
    events = [Event(float(t), int(rng.integers(0, len(CLASSES))), int(rng.integers(30, 128)), 0.9) for t in times]
    return write_review_page(tmp / "long.html", wav, events, CLASSES, MidiConfig(), BeatMap.constant(120.0, seconds),
                             seconds)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--long", type=float, default=600.0)
    ap.add_argument("--hits", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--screenshot", default=None, help="write the demo page's screenshot here (PNG)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from transcribe import make_wav

    from drumscribe.cli import main as cli
    from drumscribe.commands.demo import DEMO_CLIP
    from drumscribe.transcription.review.browser import chromium, missing

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        demo = tmp / "demo_clip.html"
        t0 = time.perf_counter()
        assert cli(["transcribe", str(DEMO_CLIP), str(demo), "--quiet"]) == 0
        t_demo = time.perf_counter() - t0
        song = tmp / "song.wav"
        make_wav(song, args.seconds)
        page = tmp / "song.html"
        t0 = time.perf_counter()
        assert cli(["transcribe", str(song), str(page), "--quiet", "--threads", "1"]) == 0
        t_song = time.perf_counter() - t0
        t0 = time.perf_counter()
        assert cli(["transcribe", str(song), str(tmp / "song.mid"), "--quiet", "--threads", "1"]) == 0
        t_mid = time.perf_counter() - t0
        long = long_page(tmp, args.long, args.hits)
        print(f"demo page {demo.stat().st_size / 1e6:.3f} MB (goal < 1 MB), transcribe -> .html {t_demo:.1f} s")
        print(f"{args.seconds:.0f} s song page {page.stat().st_size / 1e6:.3f} MB (goal < 5 MB); transcribe -> .html "
              f"{t_song:.1f} s, -> .mid {t_mid:.1f} s (the page adds {t_song - t_mid:.1f} s wall)")
        print(f"{args.long:.0f} s page with {args.hits} hits: {long.stat().st_size / 1e6:.3f} MB")
        why = missing()
        if why:
            print(f"no browser measurements: {why}")
            return 0
        with chromium(1400, 800) as d:
            print(f"open + first draw, best of {args.repeat} (headless Chromium, "
                  f"{d.capabilities.get('browserVersion')}):")
            print(f"  demo {first_draw(d, demo, args.repeat):.0f} ms; {args.seconds:.0f} s song "
                  f"{first_draw(d, page, args.repeat):.0f} ms (goal < 1000 ms); {args.long:.0f} s / {args.hits} hits "
                  f"{first_draw(d, long, args.repeat):.0f} ms")
            s = d.execute_script("return window.drumscribeReview.state")
            print(f"  long page, whole song in view: {s['drawn']} hits drawn; first draw {s['drawMs'][0]:.1f} ms")
            d.find_element("id", "zoomin").click()
            for _ in range(6):
                d.find_element("id", "zoomin").click()
            print(f"  scrolling at {d.execute_script('return window.drumscribeReview.state.pxPerSecond'):.0f} px/s, "
                  f"draw times: {stats(d.execute_async_script(SCROLL))}")
            d.find_element("id", "fit").click()
            d.find_element("id", "play").click()
            gaps = d.execute_async_script(FRAMES.replace("arguments_ms", "3000"))
            d.find_element("id", "play").click()
            s = d.execute_script("return window.drumscribeReview.state")
            print(f"  playing 3 s with all {s['drawn']} hits in view: frame gaps {stats(gaps[1:])}; "
                  f"draw times {stats(s['drawMs'][-150:])}")
            if args.screenshot:
                d.get(demo.as_uri())
                time.sleep(0.5)
                d.find_element("id", "play").click()
                time.sleep(6.0)
                d.find_element("id", "play").click()
                Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
                d.save_screenshot(str(args.screenshot))
                print(f"screenshot: {args.screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
