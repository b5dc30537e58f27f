"""Search spaces: parsing, recipe-key checks with did-you-mean, sampling, and the pre-trial checks."""

from __future__ import annotations

import optuna
import pytest
import yaml

from dermkit.errors import ConfigError
from dermkit.recipes import recipe_path
from dermkit.tune.recipe import base_tree, best_recipe_text, check_space, resolve, with_params
from dermkit.tune.space import (
    CategoricalParam,
    FloatParam,
    IntParam,
    check_key,
    encode_choice,
    load_space,
    parse_space,
    recipe_keys,
    shipped_space_names,
    space_path,
)

TINY = {
    "task": "classification",
    "recipe": "tiny",
    "model": {"name": "deepconvnet_s2", "kwargs": {"input_size": [32, 32]}},
    "loss": {"name": "cross_entropy"},
    "data": {"num_workers": 0, "cache_dir": None, "preprocess": {"size": [32, 32]}},
}


def test_recipe_keys_are_the_schema_leaves():
    keys = recipe_keys()
    assert {"optim.lr", "train.batch_size", "augment.rotate", "data.preprocess.size", "data.split.val"} <= set(keys)
    assert keys["model.kwargs"] and keys["loss.kwargs"] and keys["imbalance.oversample"]  # free-form mappings
    assert not keys["optim.lr"]
    assert "optim" not in keys and "data.split" not in keys  # sections are not values


@pytest.mark.parametrize("key", ["optim.lr", "model.kwargs.dense_widths", "loss.kwargs.label_smoothing", "augment.hue"])
def test_recipe_keys_and_keys_below_free_mappings_pass(key):
    check_key(key, "s.yaml")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("train.lr", "train.lr is not a recipe key. Did you mean optim.lr"),
        ("optim.learning_rate", "optim.learning_rate is not a recipe key"),
        ("optim.weight_decy", "Did you mean optim.weight_decay"),
        ("optim", "optim is a section of the recipe, not a value"),
        ("train.monitor", "train.monitor cannot be tuned"),
        ("task", "task cannot be tuned"),
    ],
)
def test_bad_keys_are_named_with_a_suggestion(key, expected):
    with pytest.raises(ConfigError, match="^s.yaml: ") as exc:
        check_key(key, "s.yaml")
    assert expected in str(exc.value)


def test_parse_space_builds_each_kind_in_file_order():
    space = parse_space(
        {
            "optim.lr": {"type": "float", "low": "1e-4", "high": 1e-2, "log": True},  # YAML reads 1e-4 as text
            "augment.rotate": {"type": "int", "low": 0, "high": 90, "step": 15},
            "model.kwargs.dense_widths": {"type": "categorical", "choices": [[64, 32], [128, 64]]},
        },
        "s.yaml",
    )
    assert list(space.params) == ["optim.lr", "augment.rotate", "model.kwargs.dense_widths"]
    assert space.params["optim.lr"] == FloatParam(type="float", low=1e-4, high=1e-2, log=True)
    assert isinstance(space.params["augment.rotate"], IntParam)
    assert isinstance(space.params["model.kwargs.dense_widths"], CategoricalParam)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"type": "float", "low": 0.1, "high": 0.01}, "optim.lr: low (0.1) must be below high (0.01)"),
        ({"type": "float", "low": 0.0, "high": 0.1, "log": True}, "log: true needs low > 0"),
        ({"type": "float", "low": 1e-4, "high": 0.1, "log": True, "step": 0.01}, "log and step cannot be combined"),
        ({"type": "float", "low": 1e-4}, "high: Field required"),
        ({"type": "float", "low": 1e-4, "high": 0.1, "lg": True}, "lg: Extra inputs are not permitted"),
        ({"type": "uniform", "low": 1e-4, "high": 0.1}, "give a mapping with type float, int or categorical"),
        ({"type": "categorical", "choices": []}, "choices: List should have at least 1 item"),
        ({"type": "categorical", "choices": [1, 1]}, "choices must differ; repeated: 1"),
        ("0.001", "give a mapping with type float, int or categorical"),
    ],
)
def test_bad_distributions_name_the_key_and_the_reason(spec, expected):
    with pytest.raises(ConfigError, match="^s.yaml: optim.lr: ") as exc:
        parse_space({"optim.lr": spec}, "s.yaml")
    assert expected in str(exc.value)


def test_int_log_needs_a_positive_low():
    with pytest.raises(ConfigError, match="log: true needs low >= 1"):
        parse_space({"train.batch_size": {"type": "int", "low": 0, "high": 64, "log": True}}, "s.yaml")


@pytest.mark.parametrize("tree", [None, [], {}, "optim.lr"])
def test_a_space_must_be_a_non_empty_mapping(tree):
    with pytest.raises(ConfigError, match="a search space is a non-empty mapping"):
        parse_space(tree, "s.yaml")


def test_load_space_names_the_file_for_bad_yaml(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("optim.lr: {type: float, low: [\n")
    with pytest.raises(ConfigError, match=f"^{path}: not valid YAML"):
        load_space(path)
    with pytest.raises(ConfigError, match="no such file, and no shipped search space"):
        load_space(tmp_path / "missing.yaml")


def test_sampled_values_stay_in_range_and_list_choices_come_back_as_lists():
    space = parse_space(
        {
            "optim.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
            "train.batch_size": {"type": "int", "low": 8, "high": 32, "step": 8},
            "model.kwargs.filters": {"type": "categorical", "choices": [[16, 32], [32, 64], None]},
        },
        "s.yaml",
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = []
    for _ in range(20):
        trial = study.ask()
        values = space.suggest(trial)
        assert 1e-4 <= values["optim.lr"] <= 1e-2
        assert values["train.batch_size"] in (8, 16, 24, 32)
        assert values["model.kwargs.filters"] in ([16, 32], [32, 64], None)
        assert trial.params["model.kwargs.filters"] == encode_choice(values["model.kwargs.filters"])  # JSON text
        seen.append(str(values["model.kwargs.filters"]))
        study.tell(trial, 0.0)
    assert len(set(seen)) == 3


def test_with_params_sets_dotted_keys_without_touching_the_base():
    tree = {"optim": {"lr": 0.1}}
    out = with_params(tree, {"optim.lr": 0.01, "model.kwargs.dense_widths": [8, 4]})
    assert out == {"optim": {"lr": 0.01}, "model": {"kwargs": {"dense_widths": [8, 4]}}}
    assert tree == {"optim": {"lr": 0.1}}


def test_check_space_tries_every_end_of_every_range_against_the_recipe():
    ok = parse_space({"model.kwargs.dense_widths": {"type": "categorical", "choices": [[64, 32], [16]]}}, "s.yaml")
    assert check_space(ok, TINY).model.name == "deepconvnet_s2"
    out_of_schema = parse_space({"augment.rotate": {"type": "float", "low": 0, "high": 270}}, "s.yaml")
    with pytest.raises(ConfigError, match=r"(?s)^s.yaml: augment.rotate=270.0: .*less than or equal to 180"):
        check_space(out_of_schema, TINY)
    model_refuses = parse_space({"model.kwargs.widths": {"type": "categorical", "choices": [[4]]}}, "s.yaml")
    with pytest.raises(ConfigError, match=r"^s.yaml: model.kwargs.widths=\[4\]"):
        check_space(model_refuses, TINY)
    loss_refuses = parse_space({"loss.kwargs.smoothing": {"type": "float", "low": 0.0, "high": 0.5}}, "s.yaml")
    with pytest.raises(ConfigError, match=r"^s.yaml: loss.kwargs.smoothing=0.0: .*unexpected keyword"):
        check_space(loss_refuses, TINY)
    size = parse_space({"data.preprocess.size": {"type": "categorical", "choices": [[32, 32], [8, 8]]}}, "s.yaml")
    with pytest.raises(ConfigError, match=r"^s.yaml: data.preprocess.size=\[8, 8\]: .*cannot take 8x8 images"):
        check_space(size, TINY)


@pytest.mark.parametrize(
    ("recipe", "space", "overrides"),
    [
        ("cls_default", "cls_default_small", []),
        ("cls_s1_cnn", "cls_s1_random", ["data.focus.run=null"]),  # its focus run is trained separately
    ],
)
def test_shipped_spaces_fit_their_recipes(recipe, space, overrides):
    assert space in shipped_space_names()
    loaded = load_space(space)
    assert space_path(space).parent.name == "tune" and loaded.params
    check_space(loaded, base_tree(recipe, overrides))


def test_the_default_classifier_space_is_lr_weight_decay_and_label_smoothing():
    assert list(load_space("cls_default_small").params) == [
        "optim.lr",
        "optim.weight_decay",
        "loss.kwargs.label_smoothing",
    ]


def test_base_tree_applies_overrides_and_names_the_recipe():
    tree = base_tree("cls_default", ["train.epochs=2", "optim.lr=0.01"])
    assert tree["recipe"] == "cls_default" and tree["train"]["epochs"] == 2 and tree["optim"]["lr"] == 0.01
    assert yaml.safe_load(recipe_path("cls_default").read_text())["train"]["epochs"] != 2


def test_best_recipe_text_is_a_recipe_with_the_values_and_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tree = {**TINY, "data": {**TINY["data"], "path": "data"}}
    text = best_recipe_text(tree, {"optim.lr": 0.003, "model.kwargs.dense_widths": [8]}, ["best trial 3"])
    assert text.startswith("# best trial 3\n")
    loaded = yaml.safe_load(text)
    assert loaded["recipe"] == "tiny_tuned" and "optim.lr=0.003" in loaded["description"]
    cfg = resolve(loaded, "best")
    assert cfg.optim.lr == 0.003 and cfg.model.kwargs["dense_widths"] == [8]
    assert loaded["data"]["path"] == str(tmp_path / "data")
