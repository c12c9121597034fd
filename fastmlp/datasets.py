"""MNIST-style data sets in IDX format: a strict reader and the loaders.

IDX (LeCun): two zero bytes, a type byte, a byte with the number of dimensions, that many
big-endian uint32 sizes, then the data, big-endian, C order. Files may be gzipped.
"""

import gzip
import hashlib
import os
import zlib
from pathlib import Path

import numpy as np

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# SHA-256 of the gzipped MNIST files bundled in data/mnist/ (see data/README.md)
MNIST_SHA256 = {
    "t10k-images-idx3-ubyte.gz": "cfeddb84311ecf044fc6a5b0f6ee8a24d265d4e83e388400186eb114082f4209",
    "t10k-labels-idx1-ubyte.gz": "e41c74e484045d39b462a7790a4af51301bd9b0b24f0154798d713ec68c45920",
    "train-images-idx3-ubyte.gz": "db8f937d487057fb14a9f0fbe97f0bc8d311ab41b750d41e1ff37c43b9e55e19",
    "train-labels-idx1-ubyte.gz": "51fc562b6747b666fbf6e84ce29d43c3cb5f9c388c664d43b33f02095313405a",
}

# the bundled MNIST: inside the installed package (a wheel or `pip install .` ships data/ as
# fastmlp/data/), or in the repository's data/ (a checkout, an editable install)
_PACKAGE = Path(__file__).resolve().parent
BUNDLED_MNIST = next((folder for folder in (_PACKAGE / "data" / "mnist",
                                            _PACKAGE.parent / "data" / "mnist")
                      if folder.is_dir()), _PACKAGE.parent / "data" / "mnist")
FASHION_MNIST_DEFAULT = Path("/usr/share/datasets/fashion-mnist")


class IDXError(ValueError):
    """A file that is not valid IDX data."""


def parse_idx(raw, name="<bytes>"):
    """An ndarray from the bytes of an IDX file (already decompressed)."""
    if len(raw) < 4:
        raise IDXError(f"{name}: too short for an IDX header ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise IDXError(f"{name}: bad magic number {raw[:4].hex()} (an IDX file starts with two "
                       f"zero bytes)")
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        raise IDXError(f"{name}: unknown IDX data type 0x{code:02x}")
    if ndim == 0:
        raise IDXError(f"{name}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"{name}: truncated header ({len(raw)} bytes, need {header})")
    shape = tuple(int(v) for v in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[code])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise IDXError(f"{name}: header declares shape {shape} ({expected} bytes in all) but "
                       f"the file has {len(raw)} bytes")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path):
    """An ndarray from an IDX file, gzipped or not."""
    path = Path(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:  # bad header/CRC, cut short, bad data
            raise IDXError(f"{path}: corrupt gzip data ({exc})") from None
    return parse_idx(raw, str(path))


def _find(folder, stem):
    for candidate in (folder / (stem + ".gz"), folder / stem):
        if candidate.exists():
            return candidate
    return None


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _cache_dir(name):
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fastmlp" / name


def _candidates(path, env_name, default, env_itself=False):
    # env_itself: $FASTMLP_DATA may hold the files directly (MNIST only: the IDX file names
    # are the same for both data sets, so Fashion-MNIST looks only in its own sub-folder)
    if path is not None:
        return [Path(path)]
    found = []
    if os.environ.get("FASTMLP_DATA"):
        env = Path(os.environ["FASTMLP_DATA"])
        found += [env / env_name] + ([env] if env_itself else [])
    return found + [default, _cache_dir(env_name)]


def load_idx_dataset(folder, verify=None, n_pixels_scale=255.0):
    """(X_train, y_train, X_test, y_test) from a folder with the four MNIST-named IDX files.

    X: float32 (n, rows*cols) in [0, 1]; y: int64. ``verify`` maps file names to SHA-256.
    """
    folder = Path(folder)
    arrays = {}
    for key, stem in FILES.items():
        f = _find(folder, stem)
        if f is None:
            raise FileNotFoundError(f"{folder}: missing {stem}[.gz]")
        if verify and f.name in verify and sha256(f) != verify[f.name]:
            raise ValueError(f"{f}: SHA-256 mismatch; the bundled file is damaged (re-checkout "
                             f"data/mnist/ from git)")
        arrays[key] = read_idx(f)
    out = []
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1:
            raise IDXError(f"{folder}: expected 3-D images and 1-D labels, got shapes "
                           f"{images.shape} and {labels.shape}")
        if images.shape[0] != labels.shape[0]:
            raise IDXError(f"{folder}: {images.shape[0]} {part} images but {labels.shape[0]} "
                           f"labels")
        X = images.reshape(images.shape[0], -1).astype(np.float32)
        X /= np.float32(n_pixels_scale)
        out += [X, labels.astype(np.int64)]
    return tuple(out)


def load_mnist(path=None):
    """MNIST as (X_train, y_train, X_test, y_test): X float32 (n, 784) in [0, 1], y int64.

    Looked for in: ``path``; ``$FASTMLP_DATA/mnist`` and ``$FASTMLP_DATA``; the bundled copy
    (the repository's data/mnist/, installed with the package: checked against its SHA-256);
    ``~/.cache/fastmlp/mnist``.
    """
    tried = []
    for folder in _candidates(path, "mnist", BUNDLED_MNIST, env_itself=True):
        if all(_find(folder, stem) for stem in FILES.values()):
            verify = MNIST_SHA256 if folder.resolve() == BUNDLED_MNIST else None
            return load_idx_dataset(folder, verify=verify)
        tried.append(str(folder))
    raise FileNotFoundError("MNIST IDX files not found; looked in: " + ", ".join(tried) +
                            ". Pass path= (or --data DIR) to a folder holding "
                            "train-images-idx3-ubyte[.gz] and the other three files.")


def load_fashion_mnist(path=None):
    """Fashion-MNIST, same format and return value as load_mnist.

    Looked for in: ``path``; ``$FASTMLP_DATA/fashion-mnist`` (not ``$FASTMLP_DATA`` itself, which
    may hold MNIST under the same file names); /usr/share/datasets/fashion-mnist (``apt-get install
    dataset-fashion-mnist``); ``~/.cache/fastmlp/fashion-mnist``.
    """
    tried = []
    for folder in _candidates(path, "fashion-mnist", FASHION_MNIST_DEFAULT):
        if all(_find(folder, stem) for stem in FILES.values()):
            return load_idx_dataset(folder)
        tried.append(str(folder))
    raise FileNotFoundError("Fashion-MNIST IDX files not found; looked in: " + ", ".join(tried) +
                            ". On Debian/Ubuntu: `apt-get install dataset-fashion-mnist` (puts "
                            "them in /usr/share/datasets/fashion-mnist), or pass --data DIR.")


DATASETS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}
TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
CLASS_NAMES = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"),
}
# the first ten training labels of each release (with 60,000 training and 10,000 test rows):
# enough to tell the two apart when a folder of IDX files is passed with --data
_FINGERPRINTS = {"mnist": (5, 0, 4, 1, 9, 2, 1, 3, 1, 4),
                 "fashion-mnist": (9, 0, 0, 3, 0, 2, 7, 2, 5, 5)}


def identify(y_train, y_test):
    """'mnist', 'fashion-mnist' or None: which release these labels come from."""
    if len(y_train) != 60000 or len(y_test) != 10000:
        return None
    for name, first in _FINGERPRINTS.items():
        if tuple(int(v) for v in y_train[:10]) == first:
            return name
    return None
