"""Read a song folder the way Clone Hero does: scan-chart (npm) through tests/chartcheck/scan.js.

``./run`` installs scan-chart into build/chartcheck when npm exists; without Node or the package, :func:`scan`
returns None and :func:`check_song_folder` skips (the tests that need it say so)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "tests/chartcheck/scan.js"
MODULES = ROOT / "build/chartcheck/node_modules"
# what scan-chart reports on every drumscribe folder, and why it is fine (docs/charts.md)
DOCUMENTED_FOLDER_ISSUES = {"noAlbumArt"}  # the project has no cover art to give


def available() -> bool:
    return shutil.which("node") is not None and (MODULES / "scan-chart/package.json").exists()


def scan(folder) -> dict | None:
    """scan.js's JSON for ``folder``, or None when scan-chart is not installed here."""
    if not available():
        return None
    env = dict(os.environ, NODE_PATH=str(MODULES))
    out = subprocess.run(["node", str(HARNESS), str(folder)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def check_song_folder(folder, missing_ok=("artist", "genre", "year")) -> dict | None:
    """Assert what a player needs: playable, Pro Drums on four difficulties, sections, no chart issues, no folder
    issues beyond :data:`DOCUMENTED_FOLDER_ISSUES`, no missing metadata beyond ``missing_ok``.  Returns the scan."""
    d = scan(folder)
    if d is None:
        return None
    assert "scanError" not in d and "parseError" not in d, d.get("scanError") or d.get("parseError")
    assert d["playable"] is True
    assert d["instruments"] == ["drums"] and d["drumType"] == 1 == d["drumTypeParsed"]  # fourLanePro
    counts = {c["difficulty"]: c["count"] for c in d["noteCounts"]}
    assert set(counts) == {"expert", "hard", "medium", "easy"} and all(counts.values())
    assert d["sections"], "no sections"
    assert d["chartIssues"] == [], d["chartIssues"]
    assert {i["folderIssue"] for i in d["folderIssues"]} <= DOCUMENTED_FOLDER_ISSUES, d["folderIssues"]
    missing = {i["description"].split('"')[1] for i in d["metadataIssues"] if i["metadataIssue"] == "missingValue"}
    assert missing <= set(missing_ok), d["metadataIssues"]
    assert not [i for i in d["metadataIssues"] if i["metadataIssue"] != "missingValue"], d["metadataIssues"]
    return d
