"""The IDX reader and the MNIST / Fashion-MNIST loaders, on the bundled files and on broken ones."""

import gzip
import shutil
import zlib

import numpy as np
import pytest

from fastmlp import datasets
from fastmlp.datasets import FILES, IDXError, parse_idx, read_idx

# Label counts of the standard MNIST files (as published with the original data).
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def idx_bytes(array, code=0x08):
    """A well-formed IDX file for ``array`` (big-endian), built independently of the reader."""
    dt = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=dt).tobytes()


@pytest.fixture(scope="module")
def mnist():
    return datasets.load_mnist()


def test_bundled_mnist_shapes_dtypes_ranges(mnist):
    X_train, y_train, X_test, y_test = mnist
    assert X_train.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert X_train.flags.c_contiguous
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == TEST_COUNTS
    # The well-known normalisation constants of MNIST's training set.
    assert abs(float(X_train.mean(dtype=np.float64)) - 0.1307) < 5e-4
    assert abs(float(X_train.std(dtype=np.float64)) - 0.3081) < 5e-4
    # About 19% of pixels are non-zero: the sparsity the kernels exploit.
    assert 0.18 < float(np.mean(X_train > 0)) < 0.20


def test_bundled_checksums_are_the_documented_ones():
    readme = (datasets.BUNDLED_MNIST.parent / "README.md").read_text()
    for name, digest in datasets.MNIST_SHA256.items():
        assert datasets.sha256(datasets.BUNDLED_MNIST / name) == digest
        assert f"{digest}  {name}" in readme


def test_explicit_path_and_env_var_and_uncompressed_files(tmp_path, monkeypatch, mnist):
    # Uncompressed copies of the test files + gzipped train files in a folder of our own.
    for stem in FILES.values():
        src = datasets.BUNDLED_MNIST / (stem + ".gz")
        if stem.startswith("t10k"):
            (tmp_path / stem).write_bytes(gzip.decompress(src.read_bytes()))
        else:
            shutil.copy(src, tmp_path / (stem + ".gz"))
    got = datasets.load_mnist(tmp_path)
    for a, b in zip(got, mnist):
        np.testing.assert_array_equal(a, b)
    monkeypatch.setenv("FASTMLP_DATA", str(tmp_path))
    got = datasets.load_mnist()
    np.testing.assert_array_equal(got[3], mnist[3])


def test_missing_folder_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        datasets.load_mnist(tmp_path)


def test_fashion_mnist_never_reads_mnist_from_the_bare_fastmlp_data_folder(tmp_path,
                                                                           monkeypatch):
    """$FASTMLP_DATA may hold MNIST's files directly; Fashion-MNIST has the same file names, so it
    looks only in $FASTMLP_DATA/fashion-mnist (and its own defaults)."""
    for stem in datasets.FILES.values():
        shutil.copy(datasets._find(datasets.BUNDLED_MNIST, stem), tmp_path)
    monkeypatch.setenv("FASTMLP_DATA", str(tmp_path))
    monkeypatch.setattr(datasets, "FASHION_MNIST_DEFAULT", tmp_path / "absent")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert datasets.load_mnist()[0].shape == (60000, 784)  # MNIST is found there
    with pytest.raises(FileNotFoundError, match="fashion-mnist"):
        datasets.load_fashion_mnist()


def test_missing_fashion_mnist_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        datasets.load_fashion_mnist(tmp_path)


@pytest.mark.skipif(not datasets.FASHION_MNIST_DEFAULT.exists(),
                    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_from_the_debian_package():
    X_train, y_train, X_test, y_test = datasets.load_fashion_mnist()
    assert X_train.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


@pytest.mark.parametrize("code", [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E])
def test_parse_idx_every_type_round_trips(code):
    rng = np.random.default_rng(code)
    a = rng.integers(-100, 100, size=(3, 4, 5)) if code != 0x08 else rng.integers(0, 255, (3, 4, 5))
    if code in (0x0D, 0x0E):
        a = rng.normal(size=(3, 4, 5))
    got = parse_idx(idx_bytes(a, code))
    assert got.shape == (3, 4, 5) and got.dtype.isnative
    np.testing.assert_array_equal(got, a.astype(got.dtype))


GOOD = idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4))


@pytest.mark.parametrize("raw, match", [
    (b"", "too short"),
    (b"\x00\x00", "too short"),
    (b"\x01\x00\x08\x01" + GOOD[4:], "bad magic"),
    (b"\x00\x00\x07\x02" + GOOD[4:], "unknown IDX data type"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x03", "truncated header"),
    (GOOD[:-1], "declares shape"),
    (GOOD + b"\x00", "declares shape"),
])
def test_parse_idx_rejects_malformed_data(raw, match):
    with pytest.raises(IDXError, match=match):
        parse_idx(raw)


def test_read_idx_corrupt_gzip_and_folder_with_broken_file(tmp_path):
    bad = tmp_path / "x.gz"
    bad.write_bytes(gzip.compress(GOOD)[:-8])  # cut off the gzip trailer
    with pytest.raises(IDXError, match="corrupt gzip"):
        read_idx(bad)
    # A data folder whose label file disagrees with its images: clear error, not garbage.
    for stem in FILES.values():
        shutil.copy(datasets.BUNDLED_MNIST / (stem + ".gz"), tmp_path / (stem + ".gz"))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(9999, np.uint8))))
    with pytest.raises(IDXError, match="10000 test images but 9999 labels"):
        datasets.load_mnist(tmp_path)


def test_damaged_bundled_file_fails_the_checksum(tmp_path, monkeypatch):
    for stem in FILES.values():
        shutil.copy(datasets.BUNDLED_MNIST / (stem + ".gz"), tmp_path / (stem + ".gz"))
    raw = bytearray(gzip.decompress((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    raw[-1] = (raw[-1] + 1) % 10  # still valid IDX, wrong content
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(raw)))
    monkeypatch.setattr(datasets, "BUNDLED_MNIST", tmp_path)
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        datasets.load_mnist()


# ==================================================================== broken IDX files


def test_corrupt_gzip_body_is_an_idx_error(tmp_path):
    good = gzip.compress(b"\0\0\x08\x01\0\0\x01\x00" + b"abcde" * 50 + bytes(range(6)))
    for i in range(10, len(good) - 8):  # damage the deflate stream itself until zlib objects
        raw = bytearray(good)
        raw[i] ^= 0xFF
        try:
            gzip.decompress(bytes(raw))
        except zlib.error:
            break
        except (OSError, EOFError):
            continue
    else:
        pytest.fail("no single-byte damage gives a zlib.error")
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(bytes(raw))
    with pytest.raises(IDXError, match="corrupt gzip data"):
        read_idx(path)


@pytest.mark.parametrize("seed", range(4))
def test_random_bytes_are_an_idx_error(tmp_path, seed):
    raw = np.random.default_rng(seed).bytes(300)
    path = tmp_path / "random"
    path.write_bytes(raw)
    with pytest.raises(IDXError):
        read_idx(path)
    path.write_bytes(gzip.compress(raw))
    with pytest.raises(IDXError):
        read_idx(path)


def test_huge_declared_shape_is_an_error_not_an_allocation():
    raw = b"\0\0\x08\x03" + (0xFFFFFFFF).to_bytes(4, "big") * 3 + b"\0" * 10
    with pytest.raises(IDXError, match="declares shape"):
        parse_idx(raw)
