"""Posterior files: atomic writes, round trips and study fingerprints."""

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

from rdsmodel.persistence import (
    StudyChangedWarning,
    StudyMismatchError,
    atomic_path,
    check_study,
    load_inference,
    row_digests,
    save_inference,
)


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "recruiter_id": pd.array([None, "a", "a"], dtype="string"),
            "sex": ["f", "m", "f"],
            "coupons_issued": pd.array([3, 2, None], dtype="Int64"),
        }
    )


def _idata():
    rng = np.random.default_rng(0)
    return az.from_dict(posterior={"b0": rng.normal(size=(2, 50))})


def test_row_digests_change_only_with_the_hashed_columns(table):
    before = row_digests(table, ["recruiter_id", "sex"])
    changed = table.copy()
    changed.loc[1, "sex"] = "f"
    changed.loc[2, "coupons_issued"] = 3
    after = row_digests(changed, ["recruiter_id", "sex"])
    assert before["a"] == after["a"] and before["c"] == after["c"]
    assert before["b"] != after["b"]


def test_missing_values_hash_differently_from_empty_strings():
    frame = pd.DataFrame({"id": ["x", "y"], "v": pd.array([None, ""], dtype="string")})
    digests = row_digests(frame, ["v"])
    assert digests["x"] != digests["y"]


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "plan.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half written")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_save_load_round_trip_keeps_config_and_fingerprints(tmp_path, table):
    identity = row_digests(table, ["recruiter_id", "sex"])
    state = row_digests(table, ["coupons_issued"])
    path = save_inference(
        _idata(),
        tmp_path / "post.nc",
        kind="count",
        config={"family": "nb", "scale": np.float64(1.5)},
        identity=identity,
        state=state,
    )
    idata, meta = load_inference(path, kind="count")
    assert meta.kind == "count" and meta.config == {"family": "nb", "scale": 1.5}
    assert meta.identity == identity and meta.state == state
    np.testing.assert_allclose(idata.posterior["b0"].values, _idata().posterior["b0"].values)
    with pytest.raises(ValueError, match="covariates"):
        load_inference(path, kind="covariates")


def test_load_refuses_missing_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_inference(tmp_path / "nothing.nc")
    foreign = tmp_path / "foreign.nc"
    _idata().to_netcdf(str(foreign))
    with pytest.raises(ValueError, match="not written by rdsplan"):
        load_inference(foreign)
    garbage = tmp_path / "garbage.nc"
    garbage.write_text("not a netcdf file")
    with pytest.raises(ValueError, match="not a readable"):
        load_inference(garbage)


def _meta(tmp_path, table):
    path = save_inference(
        _idata(),
        tmp_path / "p.nc",
        kind="count",
        config={},
        identity=row_digests(table, ["recruiter_id", "sex"]),
        state=row_digests(table, ["coupons_issued"]),
    )
    return load_inference(path)[1]


def test_check_study_refuses_missing_or_changed_respondents(tmp_path, table):
    meta = _meta(tmp_path, table)
    smaller = table.iloc[:2]
    with pytest.raises(StudyMismatchError, match="missing"):
        check_study(
            meta,
            row_digests(smaller, ["recruiter_id", "sex"]),
            row_digests(smaller, ["coupons_issued"]),
        )
    changed = table.copy()
    changed.loc[2, "recruiter_id"] = "b"
    with pytest.raises(StudyMismatchError, match="changed for 1"):
        check_study(
            meta,
            row_digests(changed, ["recruiter_id", "sex"]),
            row_digests(changed, ["coupons_issued"]),
        )


def test_check_study_warns_when_the_study_moved_on(tmp_path, table):
    meta = _meta(tmp_path, table)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (
            check_study(
                meta,
                row_digests(table, ["recruiter_id", "sex"]),
                row_digests(table, ["coupons_issued"]),
            )
            == []
        )
    grown = pd.concat(
        [table, pd.DataFrame({"id": ["d"], "recruiter_id": ["c"], "sex": ["m"]})], ignore_index=True
    )
    grown["recruiter_id"] = grown["recruiter_id"].astype("string")
    grown["coupons_issued"] = pd.array([3, 2, 3, None], dtype="Int64")
    with pytest.warns(StudyChangedWarning) as caught:
        notes = check_study(
            meta,
            row_digests(grown, ["recruiter_id", "sex"]),
            row_digests(grown, ["coupons_issued"]),
        )
    assert len(notes) == 2 and len(caught) == 2


def test_atomic_writes_follow_the_umask_and_keep_an_old_files_mode(tmp_path):
    import os

    from rdsmodel.persistence import atomic_path

    old = os.umask(0o022)
    try:
        new = tmp_path / "new.csv"
        with atomic_path(new) as tmp:
            tmp.write_text("a\n")
        assert new.stat().st_mode & 0o777 == 0o644
        kept = tmp_path / "kept.csv"
        kept.write_text("old\n")
        kept.chmod(0o640)
        with atomic_path(kept) as tmp:
            tmp.write_text("new\n")
        assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_text() == "new\n"
    finally:
        os.umask(old)
