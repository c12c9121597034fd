"""Model files: save is atomic, load refuses anything but an intact model file, never unpickles."""

import io
import os
import pickle
import stat
import zipfile

import numpy as np
import pytest

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor, NotFittedError, persistence
from fastmlp.fitted import fitted_functions
from fastmlp.persistence import FORMAT_VERSION
from helpers import blobs6, small


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, y


def fitted(**kw):
    params = dict(hidden_layer_sizes=(6,), epochs=2, learning_rate=0.05, random_state=0)
    params.update(kw)
    X, y = data()
    return MLPClassifier(**params).fit(X, y)


def arrays_of(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


class Payload:
    """Unpickling this creates the file ``marker``: proof that code in a file ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


# ------------------------------------------------------------------ save


def test_numpy_typed_hyperparameters_save_and_load(tmp_path):
    m = fitted(dtype=np.float32, learning_rate=np.float32(0.05), epochs=np.int64(2),
               hidden_layer_sizes=np.array([6]))
    loaded = fastmlp.load(m.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.params_, m.params_)
    assert loaded.params_.dtype == np.float32 and loaded.dtype == "float32"
    X, _ = data()
    np.testing.assert_array_equal(loaded.predict_proba(X), m.predict_proba(X))


def test_counters_and_curves_survive_save_and_load(tmp_path):
    X, y = data()
    m = MLPClassifier(hidden_layer_sizes=(6,), epochs=3, random_state=0,
                      validation_fraction=0.25).fit(X, y)
    m.partial_fit(X, y)
    loaded = fastmlp.load(m.save(tmp_path / "m.npz"))
    assert (loaded.n_iter_, loaded.t_) == (m.n_iter_, m.t_) == (4, 3 * 30 + 40)
    assert loaded.loss_curve_ == m.loss_curve_ and len(m.loss_curve_) == 4
    assert loaded.accuracy_curve_ == m.accuracy_curve_
    assert loaded.validation_scores_ == m.validation_scores_ and len(m.validation_scores_) == 3


def test_a_file_without_the_newer_optional_keys_still_loads(tmp_path):
    path = fitted().save(tmp_path / "m.npz")
    arrays = arrays_of(path)
    for key in ("t", "accuracy_curve", "validation_scores"):
        del arrays[key]
    np.savez(path, **arrays)
    loaded = fastmlp.load(path)
    assert loaded.t_ == 0 and loaded.accuracy_curve_ == [] and loaded.n_iter_ == 2


def test_save_records_the_fitted_architecture_not_later_hyperparameter_edits(tmp_path):
    m = fitted()
    m.set_params(hidden_layer_sizes=(99, 99), dtype="float64")  # not refitted
    loaded = fastmlp.load(m.save(tmp_path / "m.npz"))
    assert loaded.hidden_layer_sizes == (6,) and loaded.params_.dtype == np.float32
    np.testing.assert_array_equal(loaded.params_, m.params_)


def test_save_of_an_unfitted_model_fails_and_leaves_the_file(tmp_path):
    target = tmp_path / "m.npz"
    target.write_bytes(b"previous")
    with pytest.raises(NotFittedError, match="not fitted"):
        MLPClassifier().save(target)
    assert target.read_bytes() == b"previous"


def test_saved_file_is_not_private(tmp_path):
    path = fitted().save(tmp_path / "m.npz")
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o044 == 0o044  # not mkstemp's 0600


@pytest.mark.parametrize("where", ["savez", "replace"])
@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_crash_mid_save_keeps_the_previous_file_and_leaves_no_temp_file(tmp_path, monkeypatch,
                                                                       where, exc):
    old = fitted(random_state=1)
    path = old.save(tmp_path / "model.npz")
    before = open(path, "rb").read()
    new = fitted(random_state=2)
    assert not np.array_equal(new.params_, old.params_)

    if where == "savez":
        real = np.savez

        def crash(f, **arrays):  # write part of the archive, then die
            real(f, **{k: arrays[k] for k in list(arrays)[:2]})
            raise exc
        monkeypatch.setattr(np, "savez", crash)
    else:
        def crash(src, dst):
            raise exc
        monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(type(exc)):
        new.save(path)
    monkeypatch.undo()
    assert open(path, "rb").read() == before
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]  # no .fastmlp-*.tmp left behind
    np.testing.assert_array_equal(fastmlp.load(path).params_, old.params_)


def test_save_to_a_missing_folder_or_onto_a_folder(tmp_path):
    m = fitted()
    with pytest.raises(FileNotFoundError, match="the folder .*nope' does not exist"):
        m.save(tmp_path / "nope" / "m.npz")
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(IsADirectoryError, match="dir.npz': it is a folder"):
        m.save(tmp_path / "dir.npz")
    assert sorted(os.listdir(tmp_path)) == ["dir.npz"] and not os.listdir(tmp_path / "dir.npz")


def test_save_overwrites_atomically_when_nothing_goes_wrong(tmp_path):
    path = fitted(random_state=1).save(tmp_path / "model")
    assert path.endswith("model.npz")
    new = fitted(random_state=2)
    new.save(path)
    np.testing.assert_array_equal(fastmlp.load(path).params_, new.params_)
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]


# ------------------------------------------------------------------ load: not a model file


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        fastmlp.load(tmp_path / "nope.npz")


@pytest.mark.parametrize("cut", [0, 10, 100, 0.5, -30])
def test_load_truncated_file(tmp_path, cut):
    path = fitted().save(tmp_path / "m.npz")
    raw = open(path, "rb").read()
    n = int(len(raw) * cut) if isinstance(cut, float) else (cut % len(raw))
    bad = tmp_path / "cut.npz"
    bad.write_bytes(raw[:n])
    with pytest.raises(ValueError, match="not a readable fastmlp model file"):
        fastmlp.load(bad)


@pytest.mark.parametrize("seed", range(5))
def test_load_random_bytes(tmp_path, seed):
    bad = tmp_path / "random.npz"
    bad.write_bytes(np.random.default_rng(seed).bytes(2000))
    with pytest.raises(ValueError, match="not a readable fastmlp model file"):
        fastmlp.load(bad)


def test_load_of_a_npy_array(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not a .npz archive"):
        fastmlp.load(tmp_path / "a.npy")


def test_load_of_an_unrelated_npz(tmp_path):
    np.savez(tmp_path / "x.npz", weights=np.zeros(3))
    with pytest.raises(ValueError, match="not a fastmlp model file"):
        fastmlp.load(tmp_path / "x.npz")


@pytest.mark.parametrize("version", [0, FORMAT_VERSION + 1, 99])
def test_load_wrong_format_version(tmp_path, version):
    path = fitted().save(tmp_path / "m.npz")
    arrays = arrays_of(path)
    arrays["format_version"] = np.array(version)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=f"format version {version}; this fastmlp reads "
                                         f"version {FORMAT_VERSION}"):
        fastmlp.load(path)


def test_load_unreadable_format_version(tmp_path):
    path = fitted().save(tmp_path / "m.npz")
    arrays = arrays_of(path)
    arrays["format_version"] = np.array("one")
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="unreadable format_version"):
        fastmlp.load(path)


# ------------------------------------------------------------------ load: never unpickles


def test_the_payload_is_live(tmp_path):
    """Guard for the tests below: unpickling the payload really does create the marker."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Payload(str(marker))))
    assert marker.exists()


@pytest.mark.parametrize("key", ["params", "hyperparameters", "classes", "extra"])
def test_pickle_bearing_npz_is_refused_and_never_unpickled(tmp_path, key):
    marker = tmp_path / "code-ran"
    path = fitted().save(tmp_path / "m.npz")
    arrays = arrays_of(path)
    arrays[key] = np.array([Payload(str(marker))], dtype=object)
    np.savez(path, allow_pickle=True, **arrays)  # an object array: stored as a pickle
    with zipfile.ZipFile(path) as z:  # the payload really is in the file
        assert f"{key}.npy" in z.namelist()
    with pytest.raises(ValueError, match="not a readable fastmlp model file.*pickle"):
        fastmlp.load(path)
    assert not marker.exists()


def test_raw_pickle_file_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps({"params": Payload(str(marker))}))
    with pytest.raises(ValueError, match="not a readable fastmlp model file"):
        fastmlp.load(path)
    assert not marker.exists()


def test_pickled_npy_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "code-ran"
    buf = io.BytesIO()
    np.save(buf, np.array([Payload(str(marker))], dtype=object), allow_pickle=True)
    path = tmp_path / "model.npz"
    path.write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match="not a readable fastmlp model file"):
        fastmlp.load(path)
    assert not marker.exists()


# ------------------------------------------------------------------ load: inconsistent contents


def _corrupt(arrays, how):
    a = dict(arrays)
    if how == "params_short":
        a["params"] = a["params"][:-1]
    elif how == "params_dtype":
        a["params"] = a["params"].astype(np.float64)
    elif how == "params_nan":
        a["params"] = a["params"].copy()
        a["params"][3] = np.nan
    elif how == "layout_offsets":
        a["layout"] = a["layout"].copy()
        a["layout"][-1, 2] += 1
    elif how == "layout_zero_sizes":
        a["layout"] = np.zeros((2, 5), np.int64)
    elif how == "layout_1d":
        a["layout"] = a["layout"].ravel()
    elif how == "hidden_mismatch":
        a["hyperparameters"] = np.array(str(a["hyperparameters"]).replace(
            '"hidden_layer_sizes": [6]', '"hidden_layer_sizes": [7]'))
    elif how == "bad_json":
        a["hyperparameters"] = np.array("{not json")
    elif how == "json_not_object":
        a["hyperparameters"] = np.array("[1, 2]")
    elif how == "unknown_hyperparameter":
        a["hyperparameters"] = np.array('{"no_such_option": 1}')
    elif how == "invalid_hyperparameter":
        a["hyperparameters"] = np.array(str(a["hyperparameters"]).replace(
            '"activation": "relu"', '"activation": "swish"'))
    elif how == "unknown_estimator":
        a["estimator"] = np.array("os.system")
    elif how == "no_estimator":
        del a["estimator"]
    elif how == "no_layout":
        del a["layout"]
    elif how == "classes_count":
        a["classes"] = a["classes"][:-1]
    elif how == "no_classes":
        del a["classes"]
    elif how == "loss_curve_text":
        a["loss_curve"] = np.array(["a", "b"])
    elif how == "classes_unsorted":
        a["classes"] = a["classes"][::-1].copy()
    elif how == "classes_repeated":
        a["classes"] = np.zeros_like(a["classes"])
    elif how == "n_iter_negative":
        a["n_iter"] = np.array(-3)
    elif how == "t_fraction":
        a["t"] = np.array(2.7)
    elif how == "y_ndim_5":
        a["y_ndim"] = np.array(5)
    changed = [k for k in set(a) | set(arrays) if k not in a or k not in arrays or
               a[k].shape != arrays[k].shape or a[k].dtype != arrays[k].dtype or
               not np.array_equal(a[k], arrays[k], equal_nan=a[k].dtype.kind == "f")]
    assert changed, how  # the corruption really changed the file
    return a


CORRUPTIONS = ["params_short", "params_dtype", "params_nan", "layout_offsets",
               "layout_zero_sizes", "layout_1d", "hidden_mismatch", "bad_json",
               "json_not_object", "unknown_hyperparameter", "invalid_hyperparameter",
               "unknown_estimator", "no_estimator", "no_layout", "classes_count", "no_classes",
               "loss_curve_text", "classes_unsorted", "classes_repeated", "n_iter_negative",
               "t_fraction", "y_ndim_5"]


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_inconsistent_model_file_is_a_clear_value_error(tmp_path, how):
    path = fitted().save(tmp_path / "m.npz")
    assert '"hidden_layer_sizes": [6]' in str(arrays_of(path)["hyperparameters"])
    np.savez(path, **_corrupt(arrays_of(path), how))
    with pytest.raises(ValueError, match=r"m\.npz'? (is corrupt|holds|is not)"):
        fastmlp.load(path)


def test_regressor_round_trip_keeps_output_shape(tmp_path):
    X, _ = data()
    y = X[:, :2].sum(axis=1)
    m = MLPRegressor(hidden_layer_sizes=(4,), epochs=2, random_state=0).fit(X, y)
    loaded = fastmlp.load(m.save(tmp_path / "r.npz"))
    assert loaded.predict(X).shape == (len(X),)
    np.testing.assert_array_equal(loaded.predict(X), m.predict(X))


# ------------------------------------------------------------- hyperparameters changed after fit

def test_save_describes_the_trained_network_not_hyperparameters_changed_since(tmp_path):
    X, y = data()
    m = fitted()
    p0 = m.predict_proba(X[:5])
    m.set_params(activation="tanh")  # takes effect at the next fit, not before
    np.testing.assert_array_equal(m.predict_proba(X[:5]), p0)
    loaded = fastmlp.load(m.save(tmp_path / "m.npz"))
    assert loaded.activation == fitted_functions(m)[0] != "tanh"
    np.testing.assert_array_equal(loaded.predict_proba(X[:5]), p0)
    with pytest.raises(ValueError, match="refit to change them"):
        m.partial_fit(X, y)  # continuing would silently train another network
    np.testing.assert_array_equal(m.predict_proba(X[:5]), p0)


def test_save_refuses_invalid_hyperparameters_and_keeps_the_existing_file(tmp_path):
    m = fitted()
    path = m.save(tmp_path / "m.npz")
    before = open(path, "rb").read()
    m.set_params(learning_rate=-1)
    with pytest.raises(ValueError, match="cannot save this model: learning_rate=-1"):
        m.save(path)
    assert open(path, "rb").read() == before
    assert fastmlp.load(path).learning_rate > 0


def test_predict_proba_normalises_by_the_fitted_output_activation():
    X, y = data()
    m = fitted(output_activation="identity", loss="squared_error")
    raw = m.predict_proba(X)
    m.set_params(output_activation=None, loss=None)  # default: softmax, not fitted yet
    np.testing.assert_array_equal(m.predict_proba(X), raw)
    np.testing.assert_allclose(raw.sum(axis=1), 1, rtol=1e-6)


def test_load_finds_the_npz_suffix_like_save_adds_it(tmp_path):
    m = fitted()
    assert m.save(tmp_path / "model").endswith("model.npz")
    loaded = fastmlp.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.params_, m.params_)
    with pytest.raises(FileNotFoundError):
        fastmlp.load(tmp_path / "other")


def test_a_regressor_file_with_classes_is_corrupt(tmp_path):
    X, _ = data()
    path = MLPRegressor(hidden_layer_sizes=(4,), epochs=1, random_state=0).fit(
        X, X[:, 0]).save(tmp_path / "r.npz")
    arrays = arrays_of(path)
    arrays["classes"] = np.array([0, 1])
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="has no classes"):
        fastmlp.load(path)


def test_big_endian_weights_load_as_native(tmp_path):
    X, _ = data()
    m = fitted()
    path = m.save(tmp_path / "m.npz")
    arrays = arrays_of(path)
    arrays["params"] = arrays["params"].astype(arrays["params"].dtype.newbyteorder(">"))
    np.savez(path, **arrays)
    loaded = fastmlp.load(path)
    assert loaded.params_.dtype.isnative
    np.testing.assert_array_equal(loaded.predict_proba(X), m.predict_proba(X))


# ==================================================================== exported load, round trips


def test_fastmlp_load_is_exported():
    assert fastmlp.load is fastmlp.estimators.load


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_load_round_trip_is_exact(tmp_path, dtype):
    X, y = blobs6()
    m = small(dtype=dtype).fit(X, np.array(["a", "b", "c"])[y])
    path = m.save(tmp_path / "model.npz")
    loaded = fastmlp.load(path)
    assert type(loaded) is MLPClassifier
    np.testing.assert_array_equal(loaded.params_, m.params_)
    np.testing.assert_array_equal(loaded.predict_proba(X), m.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, m.classes_)
    assert loaded.get_params() == m.get_params()
    loaded.partial_fit(X, np.array(["a", "b", "c"])[y])  # and it trains on
    assert loaded.n_iter_ == m.n_iter_ + 1


def test_regressor_save_load(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 2))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    m = MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", epochs=30,
                     learning_rate=0.02, random_state=0).fit(X, y)
    assert m.predict(X).shape == (200,)
    assert m.score(X, y) > 0.8
    loaded = fastmlp.load(m.save(tmp_path / "reg"))
    np.testing.assert_array_equal(loaded.predict(X), m.predict(X))


# ==================================================================== the file layer alone


def test_write_and_read_round_trip_any_arrays_with_the_format_version(tmp_path):
    """persistence.py knows files, not models: any arrays go through, with format_version."""
    arrays = dict(params=np.arange(5, dtype=np.float32), note=np.array("hello"))
    path = persistence.write(tmp_path / "f", arrays)
    assert path == str(tmp_path / "f.npz")
    read_path, data = persistence.read(tmp_path / "f")  # finds the .npz like load does
    assert read_path == path and int(data["format_version"]) == FORMAT_VERSION
    np.testing.assert_array_equal(data["params"], arrays["params"])
    assert str(data["note"]) == "hello"
    assert persistence.save_problem(tmp_path / "g") == (str(tmp_path / "g.npz"), None)
    missing = tmp_path / "no-such-folder" / "m"
    assert "does not exist" in persistence.save_problem(missing)[1]


@pytest.mark.parametrize("content", [b"hello world\n", b"\x93NUMPY", b"", b"PK\x03\x04junk"])
def test_load_of_a_non_model_file_answers_in_fastmlps_words(tmp_path, content):
    import fastmlp
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError) as exc:
        fastmlp.load(path)
    message = str(exc.value)
    assert "not a" in message and "fastmlp model file" in message
    assert "allow_pickle" not in message and "pickle.load" not in message
    assert "unsafely" not in message


def test_a_member_header_claiming_more_data_than_the_file_holds_is_refused(tmp_path,
                                                                           monkeypatch):
    """A forged .npy header (10**12 elements) must not make load allocate terabytes: the
    file is refused as inconsistent before np.load reads any member."""
    path = small().fit(*blobs6()).save(tmp_path / "m.npz")
    forged = tmp_path / "forged.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(forged, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "params.npy":
                arr = np.load(io.BytesIO(data))
                header = io.BytesIO()
                np.lib.format.write_array_header_1_0(header, {
                    "descr": np.lib.format.dtype_to_descr(arr.dtype), "fortran_order": False,
                    "shape": (10**12,)})
                data = header.getvalue() + data[len(data) - arr.nbytes:]
            out.writestr(info.filename, data)
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("np.load was reached"))
    with pytest.raises(ValueError, match=r"member 'params.npy' declares shape "
                                         r"\(1000000000000,\) of float32 \(4000000000000 "
                                         r"bytes\) but holds \d+ bytes of data: inconsistent"):
        fastmlp.load(forged)


# ------------------------------------------------------------------ state that must survive a file


def test_a_numpy_integer_random_state_is_saved_as_the_number(tmp_path):
    m = fitted(random_state=np.int64(3))
    loaded = fastmlp.load(m.save(tmp_path / "m.npz"))
    assert loaded.random_state == 3 and type(loaded.random_state) is int


@pytest.mark.parametrize("random_state", [0, None, np.random.default_rng(5)])
def test_save_load_then_partial_fit_shuffles_as_the_uninterrupted_model(tmp_path, random_state):
    X, y = data()
    kw = dict(hidden_layer_sizes=(6,), epochs=2, learning_rate=0.05, shuffle=True,
              random_state=random_state)
    m = MLPClassifier(**kw).fit(X, y)
    loaded = fastmlp.load(m.save(tmp_path / "m.npz"))
    for _ in range(2):
        m.partial_fit(X, y)
        loaded.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.params_, m.params_)


@pytest.mark.parametrize("missing", [("adam_steps",), ("sq_avg",), ("velocity",),
                                     ("velocity", "sq_avg", "adam_steps")])
def test_a_file_missing_part_of_the_optimizer_state_is_corrupt(tmp_path, missing):
    path = fitted(solver="adam").save(tmp_path / "m.npz")
    arrays = arrays_of(path)
    for key in missing:
        del arrays[key]
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"is corrupt: the optimizer state lacks " +
                       ", ".join(missing)):
        fastmlp.load(path)


@pytest.mark.parametrize("key,value,match", [
    ("rng_state", np.array("{not json"), "shuffling generator's state is unreadable"),
    ("rng_state", np.array('{"bit_generator": "os.system", "state": {}}'),
     "unknown bit generator"),
    ("x_mean", np.zeros(3), "x_mean and x_scale must be 5 finite numbers"),
    ("lr_scale", np.array(2.0), "lr_scale must be a number in"),
    ("diverged", np.array(1), "diverged must be True or False"),
    ("multilabel", np.array("yes"), "multilabel must be True or False"),
])
def test_a_corrupt_new_field_is_refused(tmp_path, key, value, match):
    path = fitted(scale_inputs=True).save(tmp_path / "m.npz")
    arrays = arrays_of(path)
    arrays[key] = value
    if key == "x_mean":
        arrays["x_scale"] = np.ones(3)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=match):
        fastmlp.load(path)
