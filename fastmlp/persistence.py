"""Model files: an atomic .npz write, a safe read (allow_pickle=False: never runs code) and the
format version. What the arrays mean -- the fitted-array schema -- belongs to the estimators
(``fastmlp.estimators``: ``save``/``load``); this module knows files, not models."""

import json
import math
import os
import tempfile
import zipfile

import numpy as np

# 2: files that may standardise the inputs, save the shuffling generator's state and always
# hold the optimizer state (a version-1 reader would predict without the input scaling)
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)


def _json_default(value):
    """JSON for the NumPy values a hyperparameter may legitimately hold (np.float32(0.1),
    np.int64(3), dtype=np.float32); anything else cannot be saved without pickle."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.dtype, type)):
        return np.dtype(value).name
    raise TypeError(f"hyperparameter value {value!r} of type {type(value).__name__} cannot be "
                    f"saved (only numbers, strings, None and tuples of them)")


def to_json(values):
    """``values`` (hyperparameters) as a JSON string; ValueError if one cannot be saved."""
    try:
        return json.dumps(values, default=_json_default)
    except TypeError as exc:
        raise ValueError(f"cannot save this model: {exc}") from None


def npz_path(path):
    """``path`` as a str ending in .npz (the suffix np.savez would add)."""
    path = os.fsdecode(os.fspath(path))
    return path if path.endswith(".npz") else path + ".npz"


def save_problem(path):
    """(path with .npz, why it cannot be written or None): its folder must exist and it must
    not be a folder. Checked by ``write`` and, before training, by the command line."""
    path = npz_path(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return path, f"cannot save to {path!r}: the folder {folder!r} does not exist"
    if os.path.isdir(path):
        return path, f"cannot save to {path!r}: it is a folder"
    return path, None


def write(path, arrays):
    """Write ``arrays`` (name -> array) plus the format version to ``path`` (.npz added);
    returns the path written. Written to a temporary file in the same folder and renamed over
    ``path``, so a crash mid-save never destroys an existing file."""
    path, problem = save_problem(path)
    if problem:
        raise (IsADirectoryError if os.path.isdir(path) else FileNotFoundError)(problem)
    folder = os.path.dirname(os.path.abspath(path))
    arrays = dict(format_version=np.array(FORMAT_VERSION), **arrays)
    fd, tmp = tempfile.mkstemp(prefix=".fastmlp-", suffix=".npz.tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        os.chmod(tmp, os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# deflate cannot expand data by more than ~1032:1; a member claiming more is forged
_MAX_DEFLATE_RATIO = 1032


def _check_member_sizes(path):
    """Refuse an archive whose .npy members' headers claim more data than the members hold
    (a forged header would make np.load allocate its claim, e.g. terabytes, before reading):
    every member's header shape times item size must be exactly the bytes after the header,
    and the member's own size must be possible for its compressed size."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            stored = info.compress_type == zipfile.ZIP_STORED
            if (stored and info.file_size != info.compress_size) or (
                    info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + 1024):
                raise ValueError(f"member {info.filename!r} claims {info.file_size} bytes "
                                 f"from {info.compress_size} in the archive: inconsistent")
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                               np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(member)
                header = member.tell()
            if dtype.hasobject:
                continue  # refused by np.load(allow_pickle=False) before it reads any data
            claimed = math.prod(shape) * dtype.itemsize
            if header + claimed != info.file_size:
                raise ValueError(f"member {info.filename!r} declares shape {shape} of "
                                 f"{dtype} ({claimed} bytes) but holds "
                                 f"{info.file_size - header} bytes of data: inconsistent")


def read(path):
    """(path, arrays) from a file ``write`` wrote, checked to be an intact .npz of this format
    version that holds ``params``. Raises FileNotFoundError for a missing file and ValueError
    for anything else. A path without the .npz suffix also finds ``path + ".npz"``."""
    path = os.fsdecode(os.fspath(path))
    if not os.path.exists(path) and not path.endswith(".npz") and os.path.exists(path + ".npz"):
        path += ".npz"
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file: {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a folder, not a fastmlp model file")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":  # every .npz is a zip archive
        raise ValueError(f"{path!r} is not a readable fastmlp model file (not a .npz archive; "
                         f"model files are the .npz archives save() writes)")
    try:
        _check_member_sizes(path)  # before np.load allocates what a header claims
        f = np.load(path, allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):  # a .npy file gives a plain array
            raise ValueError(f"a single {type(f).__name__}, not a .npz archive")
        with f:
            data = {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        reason = ("an entry holds pickled Python objects, which fastmlp never loads"
                  if "pickle" in str(exc) else f"{type(exc).__name__}: {exc}")
        raise ValueError(f"{path!r} is not a readable fastmlp model file ({reason})") from None
    if "format_version" not in data or "params" not in data:
        raise ValueError(f"{path!r} is not a fastmlp model file (no format_version/params)")
    try:
        version = int(data["format_version"])
    except (TypeError, ValueError):
        raise ValueError(f"{path!r} has an unreadable format_version "
                         f"{data['format_version']!r}") from None
    if version not in READABLE_VERSIONS:
        raise ValueError(f"{path!r} has model format version {version}; this fastmlp reads "
                         f"version {FORMAT_VERSION} (and the older "
                         f"{', '.join(map(str, READABLE_VERSIONS[:-1]))})")
    return path, data
