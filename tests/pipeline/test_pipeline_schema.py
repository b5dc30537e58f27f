"""The published schema file equals the one the result models generate; RLE round-trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dermkit.pipeline import published_schema, schema_text
from dermkit.pipeline.result import RLE, bounding_box, decode_rle, encode_rle


def test_published_schema_file_equals_the_generated_schema():
    # regenerate with: dermkit schema > src/dermkit/schemas/analysis-v2.json
    assert published_schema() == schema_text()
    schema = json.loads(published_schema())
    assert schema["properties"]["schema_version"]["const"] == "2"
    assert "class" in schema["$defs"]["Decision"]["properties"]


def test_earlier_schema_versions_stay_published():
    from importlib import resources

    old = json.loads(resources.files("dermkit.schemas").joinpath("analysis-v1.json").read_text())
    assert old["properties"]["schema_version"]["const"] == "1"


def test_schema_command_prints_the_schema(run_cli):
    result = run_cli("schema")
    assert result.code == 0
    assert result.out == schema_text()


@pytest.mark.parametrize(
    "mask",
    [
        np.zeros((3, 4), np.uint8),
        np.ones((3, 4), np.uint8),
        np.array([[1, 0, 0], [1, 1, 0]], np.uint8),
        np.array([[0, 1], [0, 1], [1, 1]], np.uint8),
    ],
)
def test_rle_round_trips(mask):
    rle = encode_rle(mask)
    assert sum(rle.counts) == mask.size and rle.size == mask.shape
    np.testing.assert_array_equal(decode_rle(rle), mask)


def test_rle_is_coco_column_major_starting_with_zeros():
    mask = np.array([[1, 0], [1, 1]], np.uint8)  # column-major: 1, 1, 0, 1
    assert encode_rle(mask) == RLE(size=(2, 2), counts=[0, 2, 1, 1])
    assert bounding_box(mask) == (0, 0, 2, 2)
    assert bounding_box(np.zeros((2, 2), np.uint8)) is None


def test_the_published_schema_rejects_what_it_should():
    import jsonschema

    schema = json.loads(published_schema())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert not validator.is_valid({"schema_version": "2"})  # the required fields are missing
    assert not validator.is_valid({"schema_version": "1"})
