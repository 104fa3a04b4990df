"""Read a Flax/Orbax checkpoint's parameter tree with msgpack + numpy only: nothing from the file runs.

Both file kinds the authors' training writes are one msgpack document: the Orbax "aggregate" file
(`checkpoint_<step>/checkpoint`) and the legacy Flax file (`checkpoint_<step>`). Arrays are msgpack
extension type 1 whose payload is itself msgpack `[shape, dtype name, little-endian bytes]`; type 3 is
a numpy scalar `[dtype name, bytes]`. Only the `params` subtree is decoded; the optimiser state is
skipped unread. Every way a file can be wrong (truncated, trailing bytes, unknown extension types,
declared sizes that disagree with the payload, non-string keys, deep nesting, tensorstore
placeholders) is a one-line CheckpointError.
"""

from __future__ import annotations

from pathlib import Path

import msgpack
import numpy as np

from ..errors import CheckpointError

ARRAY_EXT, SCALAR_EXT = 1, 3
MAX_FILE_BYTES = 4 << 30  # far above any mGRADE model; refuses to read arbitrary huge files
MAX_DEPTH = 16  # params/<module>/<submodule>/<leaf> is depth 4
MAX_NDIM = 8
# Accepted dtype names -> explicit little-endian numpy dtypes (the writer stores raw little-endian bytes).
DTYPES = {"float32": "<f4", "float64": "<f8", "float16": "<f2", "int32": "<i4", "int64": "<i8",
          "int8": "i1", "uint8": "u1", "bool": "?"}
FIX = "pass the file written by flax.training.checkpoints.save_checkpoint (Orbax `checkpoint_N/checkpoint` " \
      "or a legacy `checkpoint_N` file)"


class _Ext:
    """An undecoded extension value: decoding is deferred until its tree path is known."""

    __slots__ = ("code", "data")

    def __init__(self, code: int, data: bytes):
        self.code, self.data = code, data


def resolve_checkpoint_file(path: Path) -> Path:
    """The msgpack file behind PATH: the file itself, `PATH/checkpoint` of an Orbax step directory,
    or the single `checkpoint_*` entry of a checkpoint directory."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path} not found; {FIX}")
    if path.is_file():
        return path
    if not path.is_dir():
        raise CheckpointError(f"{path} is neither a regular file nor a directory (a device, a pipe or a socket); "
                              f"{FIX}")
    if (path / "checkpoint").is_file():
        return path / "checkpoint"
    if (path / "manifest.ocdbt").exists() or (path / "d").is_dir():
        raise CheckpointError(f"{path} is an Orbax OCDBT/tensorstore checkpoint, which needs tensorstore to read; "
                              f"re-save it with flax 0.8 save_checkpoint (aggregate msgpack file)")
    steps = sorted(p for p in path.iterdir() if p.name.startswith("checkpoint_"))
    if len(steps) == 1:
        return resolve_checkpoint_file(steps[0])
    if steps:
        raise CheckpointError(f"{path} holds {len(steps)} checkpoints ({', '.join(p.name for p in steps[:4])}); "
                              f"pass the one to import")
    raise CheckpointError(f"{path} is a directory without a `checkpoint` file; {FIX}")


def read_param_tree(path: Path) -> dict:
    """{'Module/sub/leaf': np.ndarray} of every parameter under `params`, plus nothing else."""
    file = resolve_checkpoint_file(path)
    size = file.stat().st_size
    if size == 0:
        raise CheckpointError(f"checkpoint {file} is empty (0 bytes); {FIX}")
    if size > MAX_FILE_BYTES:
        raise CheckpointError(f"checkpoint {file} is {size} bytes, above the {MAX_FILE_BYTES} byte limit for a "
                              f"parameter file; {FIX}")
    raw = file.read_bytes()
    foreign = foreign_format(raw)
    if foreign:
        raise CheckpointError(f"checkpoint {file} is {foreign}, not a Flax/Orbax msgpack file (nothing in it was "
                              f"read or run); {FIX}")
    document = _unpack(file, raw)
    if not isinstance(document, dict):
        raise CheckpointError(f"checkpoint {file} holds a msgpack {type(document).__name__}, not a mapping; {FIX}")
    if "params" not in document:
        keys = ", ".join(sorted(map(str, document))[:6])
        raise CheckpointError(f"checkpoint {file} has no `params` entry (top-level keys: {keys or 'none'}); {FIX}")
    leaves: dict[str, np.ndarray] = {}
    _walk(file, document["params"], "params", 1, leaves)
    if not leaves:
        raise CheckpointError(f"checkpoint {file}: `params` holds no arrays; {FIX}")
    return leaves


# Leading bytes of the files users pass by mistake, named so the message says what was found.
_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive (a NumPy .npz, or a PyTorch .pt checkpoint: those are used as they are)"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (e.g. a Keras .h5 model)"),
    (b"\x89PNG", "a PNG image"),
    (b"\x7fELF", "an ELF executable"),
)


def foreign_format(raw: bytes) -> str | None:
    """What a file that is not msgpack is, judged by its first bytes (None: maybe msgpack)."""
    for magic, what in _SIGNATURES:
        if raw.startswith(magic):
            return what
    if len(raw) >= 2 and raw[0] == 0x80 and 2 <= raw[1] <= 5:
        return f"a Python pickle (protocol {raw[1]}; never unpickled here)"
    if raw.lstrip()[:1] in (b"{", b"["):
        return "JSON text (a config file? pass it with --config)"
    return None


def _unpack(file: Path, raw: bytes):
    try:
        # Extension values stay opaque here; container and string sizes are bounded by the buffer,
        # so a declared length larger than the file fails instead of allocating.
        return msgpack.unpackb(raw, ext_hook=_Ext, raw=False, strict_map_key=False, use_list=True)
    except msgpack.ExtraData:
        raise CheckpointError(f"checkpoint {file} has trailing bytes after the msgpack document; the file is "
                              f"corrupt, {FIX}") from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the same thing: the bytes are not a tree
        text = str(exc).lower()
        reason = ("truncated" if "incomplete" in text else
                  "declaring a size larger than the whole file (truncated or forged)" if "exceeds max" in text else
                  "not a valid msgpack document")
        raise CheckpointError(f"checkpoint {file} is {reason} ({type(exc).__name__}); {FIX}") from None


def _walk(file: Path, node, where: str, depth: int, leaves: dict) -> None:
    if depth > MAX_DEPTH:
        raise CheckpointError(f"checkpoint {file}: {where} is nested deeper than {MAX_DEPTH} levels; {FIX}")
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str) or not key or "/" in key:
                raise CheckpointError(f"checkpoint {file}: {where} has the key {key!r}; parameter names must be "
                                      f"non-empty strings without '/'")
            _walk(file, value, f"{where}/{key}", depth + 1, leaves)
    elif isinstance(node, _Ext):
        leaves[where.removeprefix("params/")] = _decode(file, node, where)
    elif isinstance(node, str) and node.startswith("PLACEHOLDER://"):
        raise CheckpointError(f"checkpoint {file}: {where} is stored outside the msgpack file (tensorstore "
                              f"placeholder); re-save with flax 0.8 save_checkpoint (aggregate file)")
    else:
        raise CheckpointError(f"checkpoint {file}: {where} is a {type(node).__name__}, not an array; {FIX}")


def _decode(file: Path, ext: _Ext, where: str) -> np.ndarray:
    if ext.code not in (ARRAY_EXT, SCALAR_EXT):
        raise CheckpointError(f"checkpoint {file}: {where} uses msgpack extension type {ext.code}; only arrays "
                              f"(type {ARRAY_EXT}) and numpy scalars (type {SCALAR_EXT}) are read")
    try:
        # No ext_hook: an extension value nested inside an array payload is refused below.
        payload = msgpack.unpackb(ext.data, raw=False, use_list=True)
    except Exception:  # noqa: BLE001
        raise CheckpointError(f"checkpoint {file}: {where} has a corrupt array payload; {FIX}") from None
    if ext.code == SCALAR_EXT:
        if not (isinstance(payload, list) and len(payload) == 2):
            raise CheckpointError(f"checkpoint {file}: {where} is a malformed scalar (want [dtype, bytes])")
        payload = [[], *payload]
    if not (isinstance(payload, list) and len(payload) == 3):
        raise CheckpointError(f"checkpoint {file}: {where} is a malformed array (want [shape, dtype, bytes])")
    shape, dtype_name, data = payload
    if not (isinstance(shape, list) and len(shape) <= MAX_NDIM
            and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2 ** 40 for n in shape)):
        raise CheckpointError(f"checkpoint {file}: {where} declares the shape {shape!r}; want a list of at most "
                              f"{MAX_NDIM} non-negative integers")
    if dtype_name not in DTYPES:
        raise CheckpointError(f"checkpoint {file}: {where} has dtype {dtype_name!r}; readable dtypes: "
                              f"{', '.join(DTYPES)}")
    if not isinstance(data, bytes):
        raise CheckpointError(f"checkpoint {file}: {where} carries a {type(data).__name__} instead of raw bytes")
    dtype = np.dtype(DTYPES[dtype_name])
    count = 1
    for n in shape:
        count *= n  # exact Python integer: a huge declared shape cannot overflow into a small number
    if count * dtype.itemsize != len(data):
        raise CheckpointError(f"checkpoint {file}: {where} declares shape {shape} {dtype_name} "
                              f"({count * dtype.itemsize} bytes) but holds {len(data)} bytes; the file is corrupt")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
