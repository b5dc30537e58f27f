"""Recipe loading: YAML + dotted overrides, strict validation, clear errors."""

from __future__ import annotations

import pytest

from dermkit.config import dump_config, load_config, parse_overrides, stable_hash
from dermkit.errors import ConfigError
from dermkit.recipes import recipes_dir

CONFIGS = recipes_dir()  # the recipes shipped inside the package


@pytest.mark.parametrize("recipe", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_every_recipe_validates(recipe):
    cfg = load_config(CONFIGS / recipe)
    assert cfg.recipe == recipe.removesuffix(".yaml")
    assert load_config(None, base=__import__("yaml").safe_load(dump_config(cfg))) == cfg


@pytest.mark.parametrize("recipe", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_every_recipe_names_a_registered_model_and_a_buildable_loss(recipe):
    import torch

    from dermkit.losses import create_loss
    from dermkit.models import create_model

    cfg = load_config(CONFIGS / recipe)
    kwargs = {**cfg.model.kwargs, "pretrained": False} if "pretrained" in cfg.model.kwargs else dict(cfg.model.kwargs)
    with torch.device("meta"):  # structure only: instant, no weights allocated or downloaded
        create_model(cfg.model.name, **kwargs)  # an unknown option raises ConfigError
    kwargs = dict(cfg.loss.kwargs)
    if cfg.task == "classification" and cfg.imbalance.class_weights != "none":
        kwargs["class_weights"] = [1.0] * 7
    create_loss(cfg.loss.name, **kwargs)


def test_overrides_are_yaml_typed(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("task: segmentation\nmodel: {name: unet_s2}\nloss: {name: bce}\n")
    cfg = load_config(
        path,
        [
            "train.epochs=3",
            "model.kwargs.base_filters=8",
            "data.path=/data/x",
            "augment.hflip=true",
            "data.preprocess.size=[64, 96]",
        ],
    )
    assert cfg.train.epochs == 3 and cfg.model.kwargs == {"base_filters": 8}
    assert cfg.data.path == "/data/x" and cfg.augment.hflip is True
    assert cfg.data.preprocess.size == (64, 96)
    assert cfg.monitor == "val_dice"


def test_errors_name_the_field(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("task: segmentation\nmodel: {name: unet_s2}\nloss: {name: bce}\n")
    with pytest.raises(ConfigError, match=r"train.epochs.*greater than or equal to 1"):
        load_config(path, ["train.epochs=0"])
    with pytest.raises(ConfigError, match=r"train.epoch.*Extra inputs"):
        load_config(path, ["train.epoch=3"])
    with pytest.raises(ConfigError, match="test_fold=2 has no effect with data.split.file"):
        load_config(path, ["data.split.test_fold=2", "data.split.file=split.csv"])
    with pytest.raises(ConfigError, match="not KEY=VALUE"):
        parse_overrides(["train.epochs"])
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("task: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


@pytest.mark.parametrize(
    "override",
    [
        "train.epochs=[1",  # a yaml ParserError traceback before
        "train.epochs=!!python/object/apply:os.system ['echo run >> {marker}']",  # a ConstructorError traceback
        "data.path=key: [a, b",
    ],
)
def test_an_override_that_is_not_plain_yaml_is_a_config_error_naming_it(override, tmp_path):
    marker = tmp_path / "ran"
    override = override.format(marker=marker)
    with pytest.raises(ConfigError, match="is not plain YAML") as exc:
        parse_overrides(["train.batch_size=2", override])
    assert repr(override) in str(exc.value) and "e.g. train.epochs=3" in str(exc.value)
    assert not marker.exists()  # safe_load: no tag ever runs code


def test_stable_hash_ignores_key_order():
    assert stable_hash({"a": 1, "b": [1, 2]}) == stable_hash({"b": [1, 2], "a": 1})
    assert stable_hash({"a": 1}) != stable_hash({"a": 2})
