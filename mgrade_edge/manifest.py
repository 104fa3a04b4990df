"""manifest.json: the one reader and writer of an artifact's description.

Every command that opens an artifact directory (validate, profile, board-test, export --force)
reads it here, so a manifest is checked once, the same way, before any of its values is used:

- it is a JSON object whose `schema_version` this mgrade-edge knows (1 = written before the field
  existed, same layout; a newer one is refused with the fix: upgrade mgrade-edge);
- every field in FIELDS has its type, and `target` is a registered target;
- the target's own facts (`Target.facts`: e.g. a c bundle's prefix, header and sources) are there
  with their types, and every file they name stays inside the directory after symlinks are resolved;
- `verify_files` checks the sha256 of every file the manifest recorded (the model included).

The schema is documented in docs/architecture.md ("The manifest"); tests/test_manifest.py mutates
real manifests field by field and checks each is refused with one line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import ArtifactError
from .hashing import sha256_file
from .jsonutil import json_safe
from .targets import TARGETS

MANIFEST = "manifest.json"
SCHEMA_VERSION = 2  # 2: schema_version and the per-target facts checked; 1: the same layout without the field

# Top-level fields and their JSON types. "files" (every file's sha256) is written by write_manifest.
FIELDS: dict[str, type] = {
    "tool": str, "target": str, "precision": str, "state": str, "model_file": str, "model_bytes": int,
    "model_sha256": str, "signature": dict, "tensors": list, "details": dict,
}
OPTIONAL_FIELDS: dict[str, type] = {"files": dict, "config": dict, "notes": list, "tool_version": str,
                                    "state_handling": str, "schema_version": int, "options": dict,
                                    "frontend": dict, "steps_per_second": (int, float)}

# Kinds a target's facts declare (Target.facts: {details key: {field: kind}}).
FACT_KINDS = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "dict": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
    "identifier": lambda v: isinstance(v, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", v) is not None,
    "path": lambda v: isinstance(v, str) and v != "",
    "paths": lambda v: isinstance(v, list) and bool(v) and all(isinstance(p, str) and p for p in v),
}
_FIX = "re-export the artifact with `mgrade-edge export`"


def _where(directory: Path) -> str:
    return f"{directory}/{MANIFEST}"


def write_manifest(directory: Path, manifest: dict) -> None:
    """Write `manifest` with the current schema version and every file of the directory with its sha256
    (verify_files checks them; export --force replaces only a directory whose files still match)."""
    directory = Path(directory)
    files = {str(p.relative_to(directory)): sha256_file(p) for p in sorted(directory.rglob("*"))
             if p.is_file() and p.name != MANIFEST}
    manifest = {**manifest, "schema_version": SCHEMA_VERSION, "files": files}
    (directory / MANIFEST).write_text(json.dumps(json_safe(manifest), indent=2, sort_keys=True, allow_nan=False) + "\n")


def load_json(directory: Path) -> dict:
    """The manifest as a JSON object, or an ArtifactError naming what is wrong with the file."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{directory} is not an mgrade-edge artifact directory (no {MANIFEST}); "
                            f"pass the --out directory of `mgrade-edge export`")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ArtifactError(f"{path} is not UTF-8 text (a binary file?); {_FIX}") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); {_FIX}") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path} holds a JSON {type(manifest).__name__}, not an object; {_FIX}")
    return manifest


def read_manifest(directory: str | Path) -> dict:
    """The checked manifest of an artifact directory (see the module docstring); files are not hashed here."""
    directory = Path(directory)
    manifest = load_json(directory)
    check_manifest(directory, manifest)
    return manifest


def check_manifest(directory: Path, manifest: dict) -> None:
    """Raise ArtifactError (one line: the field, what was expected, the fix) unless `manifest` is valid."""
    where = _where(directory)
    version = manifest.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ArtifactError(f"{where}: schema_version {version!r} is not a positive integer; {_FIX}")
    if version > SCHEMA_VERSION:
        raise ArtifactError(f"{where} has schema_version {version}, newer than this mgrade-edge reads "
                            f"({SCHEMA_VERSION}); upgrade mgrade-edge or export again with this version")
    if manifest.get("tool") != "mgrade-edge":
        raise ArtifactError(f"{where} was not written by mgrade-edge (tool {manifest.get('tool')!r}); {_FIX}")
    for fields, required in ((FIELDS, True), (OPTIONAL_FIELDS, False)):
        for key, kind in fields.items():
            value = manifest.get(key)
            if value is None and not required:
                continue
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ArtifactError(f"{where}: {key!r} must be a JSON {_json_kind(kind)}, found "
                                    f"{_json_kind(type(value)) if key in manifest else 'nothing'}; {_FIX}")
    target = TARGETS.get(manifest["target"])
    if target is None:
        raise ArtifactError(f"{where} names unknown target {manifest['target']!r} (known: "
                            f"{', '.join(TARGETS)}); {_FIX}")
    check_file_name(directory, manifest["model_file"], "model_file")
    for key, fields in target.facts.items():
        record = manifest["details"].get(key)
        if not isinstance(record, dict):
            raise ArtifactError(f"{where}: target {target.name} needs details.{key} (an object); {_FIX}")
        for name, kind in fields.items():
            value = record.get(name)
            if not FACT_KINDS[kind](value):
                raise ArtifactError(f"{where}: details.{key}.{name} must be a {kind}, found {value!r:.60}; {_FIX}")
            for path in ([value] if kind == "path" else value if kind == "paths" else []):
                check_inside(directory, path, f"details.{key}.{name}")
    for rel in manifest.get("files") or {}:
        check_inside(directory, rel, "files")


def check_file_name(directory: Path, name: str, field: str) -> None:
    if Path(name).name != name or name in ("", ".", ".."):
        raise ArtifactError(f"{_where(directory)}: {field} {name!r} is not a plain file name inside the "
                            f"directory; {_FIX}")


def check_inside(directory: Path, rel: str, field: str) -> Path:
    """`directory / rel`, refused unless it stays inside `directory` once symlinks are resolved."""
    root = Path(directory).resolve()
    path = Path(rel)
    escapes = path.is_absolute() or ".." in path.parts
    resolved = (root / path).resolve()
    if escapes or (resolved != root and root not in resolved.parents):
        raise ArtifactError(f"{_where(directory)}: {field} names {rel!r}, which leaves the bundle directory "
                            f"(a path outside it or a symbolic link out of it); {_FIX}")
    return resolved


def changed_files(directory: Path, manifest: dict) -> list[str]:
    """Files the manifest recorded whose bytes differ now (or that are missing), in the manifest's order."""
    directory = Path(directory)
    changed = []
    for rel, digest in (manifest.get("files") or {}).items():
        path = directory / rel
        if not path.is_file() or path.is_symlink() or sha256_file(path) != digest:
            changed.append(rel)
    return changed


def verify_files(directory: Path, manifest: dict) -> Path:
    """Raise ArtifactError unless the model and every recorded file have the bytes the manifest recorded;
    returns the model's path."""
    directory = Path(directory)
    name = manifest["model_file"]
    model = directory / name
    target = TARGETS[manifest["target"]]
    if model.is_symlink():
        raise ArtifactError(f"{directory}: model file {name} is a symbolic link; {_FIX}")
    if Path(name).suffix != target.model_suffix or manifest["precision"] != target.precision.name:
        raise ArtifactError(f"{_where(directory)}: target {target.name} does not match model file {name} / "
                            f"precision {manifest['precision']}; the manifest was edited, {_FIX}")
    if not model.is_file():
        raise ArtifactError(f"{directory}: model file {name} named by the manifest is missing; {_FIX}")
    if model.stat().st_size != manifest["model_bytes"]:
        raise ArtifactError(f"{directory}: {name} is {model.stat().st_size} bytes, the manifest recorded "
                            f"{manifest['model_bytes']} (truncated or replaced); {_FIX}")
    if sha256_file(model) != manifest["model_sha256"]:
        raise ArtifactError(f"{directory}: {name} does not match the sha256 in its manifest (replaced or modified "
                            f"after export); {_FIX}")
    changed = changed_files(directory, manifest)
    if changed:
        raise ArtifactError(f"{directory}: {changed[0]} is missing or differs from the sha256 in its manifest "
                            f"(modified after export); {_FIX}")
    for t in manifest["tensors"]:
        if not isinstance(t, dict) or not {"name", "role", "shape", "dtype"} <= set(t):
            raise ArtifactError(f"{_where(directory)}: a tensor entry lacks name/role/shape/dtype; {_FIX}")
    return model


def _json_kind(kind: type) -> str:
    return {str: "string", int: "integer", dict: "object", list: "array", float: "number", bool: "boolean",
            type(None): "null"}.get(kind, kind.__name__)
