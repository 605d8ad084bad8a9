"""Headless Chromium for the review page's tests and bench (development only).

Needs Debian's ``chromium`` and ``chromium-driver`` (``./run`` installs them when root) and ``selenium``
(the ``test`` extra).  :func:`missing` says what is absent (the tests skip on it); :func:`chromium` starts a
browser with the flags a closed, headless machine needs and a fresh profile, and never lets Selenium Manager
look for drivers on the network.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DRIVERS = ("chromedriver",)
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required", "--mute-audio")


def _which(names) -> str | None:
    return next((p for p in map(shutil.which, names) if p), None)


def missing() -> str | None:
    """Why no headless Chromium can be driven here (None: it can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not _which(BROWSERS):
        return "no chromium binary (apt-get install chromium)"
    if not _which(DRIVERS):
        return "no chromedriver (apt-get install chromium-driver)"
    return None


@contextmanager
def chromium(width: int = 1400, height: int = 800, download_dir: str | Path | None = None):
    """A selenium ``webdriver.Chrome`` on headless Chromium (fresh ``--user-data-dir``), closed on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_AVOID_STATS", "true")  # Selenium Manager: no telemetry (it is not run: paths given)
    profile = tempfile.mkdtemp(prefix="drumscribe-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = _which(BROWSERS)
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_argument(f"--window-size={width},{height}")
    if download_dir is not None:
        opts.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                               "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=_which(DRIVERS)))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
