"""Where the preprocessing cache lives: $DERMKIT_CACHE, else $XDG_CACHE_HOME/dermkit, else ~/.cache/dermkit."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dermkit.config import DataConfig, default_cache_dir, dump_config, load_config, resolve_cache_dir


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.delenv("DERMKIT_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return monkeypatch


def test_default_cache_dir_order(env, tmp_path):
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "dermkit"
    env.setenv("XDG_CACHE_HOME", "relative/cache")  # the XDG spec says to ignore relative paths
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "dermkit"
    env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "dermkit"
    env.setenv("DERMKIT_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"


def test_auto_is_the_default_and_never_the_current_folder(env, tmp_path):
    assert DataConfig.model_fields["cache_dir"].default == "auto"
    env.setenv("DERMKIT_CACHE", str(tmp_path / "mine"))  # set after import: read when a config is built
    assert load_config("seg_default").data.cache_dir == str(tmp_path / "mine")
    no_data_section = {k: v for k, v in yaml.safe_load(dump_config(load_config("seg_default"))).items() if k != "data"}
    assert load_config(None, base=no_data_section).data.cache_dir == str(tmp_path / "mine")
    env.delenv("DERMKIT_CACHE")
    assert Path(load_config("seg_default").data.cache_dir).is_absolute()


@pytest.mark.parametrize("value", ["null", "off", "OFF", "false", "''", "none"])
def test_cache_can_be_switched_off(env, value):
    assert load_config("seg_default", [f"data.cache_dir={value}"]).data.cache_dir is None


def test_explicit_folder_is_kept_and_the_resolved_config_round_trips(env, tmp_path):
    cfg = load_config("seg_default", [f"data.cache_dir={tmp_path / 'c'}"])
    assert cfg.data.cache_dir == str(tmp_path / "c")
    assert load_config(None, base=yaml.safe_load(dump_config(cfg))) == cfg
    assert resolve_cache_dir(resolve_cache_dir("auto")) == resolve_cache_dir("auto")  # idempotent
