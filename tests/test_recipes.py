"""Shipped recipes: found by name from any folder, listed by `dermkit recipes`, clear errors otherwise."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from dermkit.cli import app
from dermkit.config import load_config
from dermkit.errors import ConfigError
from dermkit.recipes import list_recipes, recipe_names, recipe_path, recipes_dir, shipped_recipe

NAMES = recipe_names()


def test_recipes_ship_inside_the_package():
    assert recipes_dir().parent.name == "dermkit" and (recipes_dir() / "__init__.py").is_file()
    assert {"seg_default", "cls_default", "seg_s2_unet", "cls_s2_deepconvnet"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_recipe_loads_by_name_and_by_path_from_any_folder(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing of the checkout in the current folder
    by_name = load_config(name)
    assert by_name.recipe == name
    assert load_config(f"{name}.yaml") == by_name
    assert load_config(recipe_path(name)) == by_name == load_config(str(recipes_dir() / f"{name}.yaml"))


def test_list_recipes_gives_task_and_a_one_line_description():
    infos = {r.name: r for r in list_recipes()}
    assert sorted(infos) == NAMES
    for info in infos.values():
        assert info.task in ("segmentation", "classification") and info.path.is_file()
        assert info.description and "\n" not in info.description
        assert load_config(info.path).task == info.task
    assert infos["seg_default"].task == "segmentation" and infos["cls_default"].task == "classification"


def test_description_falls_back_to_the_header_comment(tmp_path):
    from dermkit.recipes import read_info

    path = tmp_path / "mine.yaml"
    path.write_text("#\n# My recipe: a U-Net.\n# more detail\ntask: segmentation\n")
    info = read_info(path)
    assert (info.name, info.task, info.description) == ("mine", "segmentation", "My recipe: a U-Net.")


def test_an_existing_file_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seg_default.yaml").write_text("task: segmentation\nmodel: {name: unet_s2}\nloss: {name: bce}\n")
    assert recipe_path("seg_default.yaml").resolve() == (tmp_path / "seg_default.yaml").resolve()
    assert load_config("seg_default.yaml").model.name == "unet_s2"
    # library code that means dermkit's own recipe never picks up a file of the current folder
    assert shipped_recipe("seg_default.yaml") == recipes_dir() / "seg_default.yaml"


def test_unknown_name_gets_did_you_mean_and_the_list():
    with pytest.raises(ConfigError, match="unknown recipe 'seg_defualt'. Did you mean 'seg_default'") as err:
        load_config("seg_defualt")
    assert all(name in str(err.value) for name in NAMES) and "dermkit recipes" in str(err.value)


def test_a_missing_path_is_never_replaced_by_a_shipped_recipe(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"configs/seg_default.yaml: config file not found; .*--config seg_default"):
        recipe_path("configs/seg_default.yaml")  # the old location: an error naming the recipe, not a guess
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "mine" / "recipe.yaml")
    with pytest.raises(ConfigError, match="is a folder, not a recipe"):
        recipe_path(tmp_path)


def test_recipes_command_lists_every_recipe():
    res = CliRunner().invoke(app, ["recipes"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split(" | ") == ["name".ljust(len(max(NAMES, key=len))), "task".ljust(14), "description"]
    rows = {line.split(" | ")[0].strip(): line.split(" | ") for line in lines[2:]}
    assert sorted(rows) == NAMES
    for info in list_recipes():
        assert rows[info.name][1].strip() == info.task and rows[info.name][2] == info.description
