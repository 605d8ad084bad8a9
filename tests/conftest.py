"""Shared fixtures: tiny E-GMD-format data made by drumscribe.dataset.toy, and configs pointed at it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory) -> Path:
    """4 performances x 2 kits x 3 s, with an E-GMD CSV (read-only: copy before modifying)."""
    from drumscribe.dataset.toy import make_toy_egmd

    return make_toy_egmd(tmp_path_factory.mktemp("toy") / "e-gmd-v1.0.0", n_performances=4,
                         kits_per_performance=2, seconds=3.0, seed=0)


@pytest.fixture
def toy_copy(toy_root, tmp_path) -> Path:
    dst = tmp_path / "e-gmd-v1.0.0"
    shutil.copytree(toy_root, dst)
    return dst


def path_overrides(egmd_root: Path, work: Path) -> list[str]:
    return [
        f"data.egmd_root={egmd_root}",
        f"data.processed_root={work / 'processed'}",
        f"data.splits_dir={work / 'processed' / 'splits'}",
        f"checkpoint.dirpath={work / 'checkpoints'}",
        f"logging.save_dir={work / 'logs'}",
    ]


@pytest.fixture
def make_cfg(tmp_path):
    """make_cfg(egmd_root, name="medium_test", extra=[...]) -> Config with all paths under tmp_path."""
    from drumscribe.core.config import load_config

    def _make(egmd_root: Path, name: str = "medium_test", extra: list[str] | None = None):
        return load_config(CONFIGS / f"{name}_config.yaml", path_overrides(egmd_root, tmp_path) + list(extra or []))

    return _make


@pytest.fixture(autouse=True)
def _no_real_dev(monkeypatch, tmp_path_factory):
    """Tests never read shared/real-dev (CC BY-NC-SA, not in the repository): its finder points nowhere."""
    monkeypatch.setenv("DRUMSCRIBE_REAL_DEV", str(tmp_path_factory.getbasetemp() / "no-real-dev"))
