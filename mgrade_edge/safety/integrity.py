"""An artifact directory is checked before anything is loaded from it: manifest shape, hashes, names.

The manifest is user-editable JSON next to the model, so every field a runner relies on is checked
here, and every recorded sha256 (the model's and the manifest's "files") must match the bytes on disk:
a swapped, truncated or edited model is refused with one line instead of being run.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ArtifactError

REQUIRED = {"target": str, "model_file": str, "model_sha256": str, "model_bytes": int, "tensors": list,
            "signature": dict, "state": str, "details": dict}


def verify_artifact(directory: Path, manifest) -> Path:
    """Raise ArtifactError unless `manifest` describes the files really in `directory`; returns the model path."""
    from ..export import TARGETS
    from ..hashing import sha256_file

    directory = Path(directory)
    fix = "re-export the artifact with `mgrade-edge export`"
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{directory}/manifest.json holds a {type(manifest).__name__}, not an object; {fix}")
    for key, kind in REQUIRED.items():
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            raise ArtifactError(f"{directory}/manifest.json has no valid {key!r} ({kind.__name__} expected); {fix}")
    target = TARGETS.get(manifest["target"])
    if target is None:
        raise ArtifactError(f"{directory}/manifest.json names unknown target {manifest['target']!r}; {fix}")
    name = manifest["model_file"]
    model = directory / name
    if Path(name).name != name or name in ("", ".", "..") or model.is_symlink():
        raise ArtifactError(f"{directory}/manifest.json: model_file {name!r} is not a plain file name inside the "
                          f"directory; {fix}")
    precision = getattr(target.precision, "name", target.precision)
    if Path(name).suffix != target.model_suffix or manifest.get("precision", precision) != precision:
        raise ArtifactError(f"{directory}/manifest.json: target {target.name} does not match model file {name} / "
                          f"precision {manifest.get('precision')}; the manifest was edited, {fix}")
    if not model.is_file():
        raise ArtifactError(f"{directory}: model file {name} named by the manifest is missing; {fix}")
    if model.stat().st_size != manifest["model_bytes"]:
        raise ArtifactError(f"{directory}: {name} is {model.stat().st_size} bytes, the manifest recorded "
                          f"{manifest['model_bytes']} (truncated or replaced); {fix}")
    if sha256_file(model) != manifest["model_sha256"]:
        raise ArtifactError(f"{directory}: {name} does not match the sha256 in its manifest (replaced or modified "
                          f"after export); {fix}")
    for rel, digest in (manifest.get("files") or {}).items():
        path = directory / rel
        inside = Path(rel).parts and ".." not in Path(rel).parts and not Path(rel).is_absolute()
        if not inside or not path.is_file() or sha256_file(path) != digest:
            raise ArtifactError(f"{directory}: {rel} is missing or differs from the sha256 in its manifest "
                              f"(modified after export); {fix}")
    for t in manifest["tensors"]:
        if not isinstance(t, dict) or not {"name", "role", "shape", "dtype"} <= set(t):
            raise ArtifactError(f"{directory}/manifest.json: a tensor entry lacks name/role/shape/dtype; {fix}")
    return model
