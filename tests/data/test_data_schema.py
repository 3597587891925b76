"""Covariate schema: inference, forcing, lookup and JSON round trip."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rdsmodel.data import CovariateField, CovariateSchema, DataError, RecruitmentData, infer_schema


def _text(**columns) -> pd.DataFrame:
    return pd.DataFrame({k: pd.array(v, dtype="string") for k, v in columns.items()})


def test_inference_rules():
    frame = _text(
        sex=["f", "m", "f", None],
        small_ints=["1", "2", "10", "2"],
        fractions=["1.5", "2", "3", "2"],
        many_ints=[str(i) for i in range(11)][:4],
    )
    many = _text(wide=[str(i) for i in range(12)])
    schema = infer_schema(frame, ["sex", "small_ints", "fractions"])
    assert schema["sex"] == CovariateField("sex", "categorical", ("f", "m"))
    assert schema["small_ints"].levels == ("1", "2", "10")  # numeric-looking levels sort as numbers
    assert schema["fractions"].kind == "numeric"
    assert infer_schema(many, ["wide"])["wide"].kind == "numeric"
    assert infer_schema(many, ["wide"], max_levels=20)["wide"].kind == "categorical"


def test_forcing_kinds_and_errors():
    frame = _text(code=["1", "2", "3"], score=["1", "2", "2"])
    schema = infer_schema(frame, ["code", "score"], numeric=["score"], categorical=["code"])
    assert schema["score"].kind == "numeric" and schema["code"].levels == ("1", "2", "3")
    with pytest.raises(DataError, match="both --categorical and --numeric"):
        infer_schema(frame, ["code"], numeric=["code"], categorical=["code"])
    with pytest.raises(DataError, match="not covariates"):
        infer_schema(frame, ["code"], numeric=["nope"])


def test_schema_properties_lookup_and_json():
    schema = CovariateSchema(
        [CovariateField("sex", "categorical", ("f", "m")), CovariateField("age", "numeric")]
    )
    assert schema.names == ["sex", "age"]
    assert [f.name for f in schema.categorical] == ["sex"]
    assert [f.name for f in schema.numeric] == ["age"]
    assert "age" in schema and len(schema) == 2
    with pytest.raises(KeyError, match="no covariate 'x'"):
        schema["x"]
    again = CovariateSchema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert again == schema


def test_field_checks():
    with pytest.raises(ValueError, match="kind"):
        CovariateField("x", "ordinal")
    with pytest.raises(ValueError, match="numeric and cannot have levels"):
        CovariateField("x", "numeric", ("a",))
    with pytest.raises(ValueError, match="repeat"):
        CovariateSchema([CovariateField("x", "numeric"), CovariateField("x", "numeric")])


def test_from_frame_uses_given_schema(small_frame):
    schema = CovariateSchema([CovariateField("sex", "categorical", ("f", "m", "x"))])
    data = RecruitmentData.from_frame(small_frame, schema=schema)
    assert data.covariates == ["sex"]
    assert data.schema["sex"].levels == ("f", "m", "x")
    as_dict = RecruitmentData.from_frame(small_frame, schema=schema.to_dict())
    assert as_dict.schema == schema


def test_from_frame_categorical_and_numeric_options(small_frame):
    data = RecruitmentData.from_frame(small_frame, categorical=["age"])
    assert data.schema["age"].kind == "categorical"
    assert data.table["age"].dtype == "string"
    data = RecruitmentData.from_frame(small_frame)
    assert data.table["age"].dtype == "float64" and data.table["sex"].dtype == "string"
