"""The model registry: registration, duplicates, lookup errors, filtering, creation record."""

from __future__ import annotations

import pytest
from torch import nn

from dermkit.errors import ConfigError
from dermkit.models import create_model, list_models, model_info, register_model
from dermkit.models.registry import MODELS


@pytest.fixture
def tiny_entry():
    """Register a throw-away classification model and remove it afterwards."""

    @register_model(task="classification", default_cfg={"input_size": (3, 8, 8)})
    def _tiny_classifier(width: int = 2) -> nn.Module:
        """A tiny linear model for registry tests."""
        return nn.Linear(width, 1)

    yield "_tiny_classifier"
    MODELS.remove("_tiny_classifier")


def test_segmenters_are_registered():
    assert {
        "unet_s2",
        "attention_unet_s1",
        "dsconv_aspp_s3",
        "unet_effnetlite0",
        "unetplusplus_effnetlite0",
        "deeplabv3plus_effnetlite0",
        "smp_unet",
    } <= set(list_models("segmentation"))


def test_list_models_filters_by_task(tiny_entry):
    assert tiny_entry in list_models("classification")
    assert tiny_entry not in list_models("segmentation")
    assert tiny_entry in list_models()
    assert list_models() == sorted(list_models())


def test_list_models_rejects_unknown_task():
    with pytest.raises(ValueError, match="task must be None or one of"):
        list_models("detection")  # type: ignore[arg-type]


def test_duplicate_registration_is_an_error(tiny_entry):
    with pytest.raises(ValueError, match="already registered"):

        @register_model(name=tiny_entry, task="classification")
        def other() -> nn.Module:
            return nn.Identity()


def test_register_model_bare_decorator():
    @register_model
    def _bare_model() -> nn.Module:
        return nn.Identity()

    try:
        assert model_info("_bare_model").task == "segmentation"
    finally:
        MODELS.remove("_bare_model")


def test_model_info(tiny_entry):
    info = model_info(tiny_entry)
    assert info.task == "classification"
    assert info.default_cfg["input_size"] == (3, 8, 8)
    assert info.summary == "A tiny linear model for registry tests."
    with pytest.raises(TypeError):
        info.default_cfg["input_size"] = (1, 2, 3)  # type: ignore[index]


def test_create_model_records_its_arguments(tiny_entry):
    model = create_model(tiny_entry, width=3)
    assert isinstance(model, nn.Linear) and model.in_features == 3
    assert model.model_name == tiny_entry
    assert model.model_kwargs == {"width": 3}
    rebuilt = create_model(model.model_name, **model.model_kwargs)
    assert rebuilt.in_features == 3


def test_unknown_name_suggests_close_match():
    with pytest.raises(ConfigError, match=r"unknown model 'unet_s3'\. Did you mean 'unet_s2'"):
        create_model("unet_s3")
    with pytest.raises(ConfigError, match="unknown model"):
        model_info("no_such_model_at_all")


def test_unknown_keyword_is_a_config_error():
    with pytest.raises(ConfigError, match="unsupported argument.*base_filtres"):
        create_model("unet_s2", base_filtres=8)


def test_bad_task_at_registration():
    with pytest.raises(ValueError, match="task must be one of"):
        register_model(task="detection")  # type: ignore[arg-type]
