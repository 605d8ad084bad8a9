import re
from pathlib import Path

import pytest
import yaml

from drumscribe.core.config import config_from_dict, load_config, require_path
from drumscribe.core.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PLAN = Path(__file__).resolve().parents[2] / "shared" / "seed" / "medium-training-test-plan.md"


def _raw(name="medium_test"):
    return yaml.safe_load((CONFIGS / f"{name}_config.yaml").read_text())


@pytest.mark.parametrize("name", ["default", "test", "medium_test"])
def test_shipped_configs_load(name):
    cfg = load_config(CONFIGS / f"{name}_config.yaml")
    assert cfg.model.n_classes == len(cfg.class_names) == 8
    assert cfg.audio.n_mels == cfg.model.n_mels


def test_medium_config_is_the_plans_verbatim():
    if not PLAN.is_file():
        pytest.skip("plan not available")
    block = re.search(r"`configs/medium_test_config.yaml`.*?```yaml\n(.*?)```", PLAN.read_text(), re.S).group(1)
    assert yaml.safe_load(block) == _raw("medium_test")


def test_quick_and_default_configs_differ_from_medium_as_the_plan_says():
    m, t, d = load_config(CONFIGS / "medium_test_config.yaml"), load_config(CONFIGS / "test_config.yaml"), load_config(CONFIGS / "default_config.yaml")
    assert (m.data.max_files, m.training.num_epochs, m.training.batch_size, m.hardware.num_workers, m.checkpoint.save_top_k) == (500, 10, 8, 4, 3)
    assert (t.data.max_files, t.training.num_epochs, t.training.batch_size, t.hardware.num_workers, t.checkpoint.save_top_k) == (20, 2, 4, 2, 2)
    assert t.logging.experiment_name != m.logging.experiment_name and t.checkpoint.filename != m.checkpoint.filename
    assert m.checkpoint.filename == "medium-test-{epoch:02d}-{val_loss:.4f}"
    assert d.data.max_files is None and d.training.num_epochs == 100
    assert d.early_stopping.enabled and d.early_stopping.patience == 20
    assert not m.early_stopping.enabled


def test_unknown_key_names_dotted_key():
    raw = _raw()
    raw["training"]["batch_sise"] = 8
    with pytest.raises(ConfigError, match=r"training\.batch_sise: unknown key.*batch_size"):
        config_from_dict(raw)


def test_unknown_section():
    raw = _raw()
    raw["trainer"] = {}
    with pytest.raises(ConfigError, match=r"^trainer: unknown key"):
        config_from_dict(raw)


def test_missing_required_key():
    raw = _raw()
    del raw["audio"]["hop_length"]
    with pytest.raises(ConfigError, match=r"audio\.hop_length: required key is missing"):
        config_from_dict(raw)


@pytest.mark.parametrize("key,value,pattern", [
    ("training.batch_size", "eight", r"training\.batch_size: expected an integer"),
    ("training.learning_rate", "fast", r"training\.learning_rate: expected a number"),
    ("augmentation.enabled", "yes please", r"augmentation\.enabled: expected true/false"),
    ("model.conv_filters", "32", r"model\.conv_filters: expected a list"),
    ("training.batch_size", "8.5", r"training\.batch_size: expected an integer"),
])
def test_wrong_type_names_key(key, value, pattern):
    with pytest.raises(ConfigError, match=pattern):
        config_from_dict(_raw(), [f"{key}={value}"])


def test_cross_field_validation():
    with pytest.raises(ConfigError, match=r"model\.n_mels"):
        config_from_dict(_raw(), ["audio.n_mels=64"])
    with pytest.raises(ConfigError, match=r"egmd_midi_mapping\.36"):
        config_from_dict(_raw(), ["egmd_midi_mapping.36=9"])
    with pytest.raises(ConfigError, match=r"train_split"):
        config_from_dict(_raw(), ["data.train_split=0.9"])
    with pytest.raises(ConfigError, match=r"audio\.fmax"):
        config_from_dict(_raw(), ["audio.fmax=20000"])


def test_overrides_parse_yaml_values_and_ints_for_mapping():
    cfg = config_from_dict(_raw(), ["data.egmd_root=/x/y", "training.num_epochs=3", "model.conv_filters=[8,16]",
                                    "egmd_midi_mapping.37=1", "data.max_files=null"])
    assert cfg.data.egmd_root == "/x/y" and cfg.training.num_epochs == 3
    assert cfg.model.conv_filters == [8, 16] and cfg.egmd_midi_mapping[37] == 1 and cfg.data.max_files is None
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        config_from_dict(_raw(), ["data.egmd_root"])


def test_missing_path_reported_with_key(tmp_path):
    cfg = config_from_dict(_raw(), [f"data.egmd_root={tmp_path / 'nope'}"])
    with pytest.raises(ConfigError, match=r"data\.egmd_root: dir does not exist"):
        require_path(cfg, "data.egmd_root")


def test_missing_config_file():
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("/nonexistent/config.yaml")
