"""An artifact directory is checked before anything is loaded from it: manifest shape, hashes, names.

The manifest is user-editable JSON next to the model, so every field a runner relies on is checked
(mgrade_edge.manifest), and every recorded sha256 (the model's and the manifest's "files") must match
the bytes on disk: a swapped, truncated or edited model is refused with one line instead of being run.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ArtifactError
from ..manifest import check_manifest, verify_files


def verify_artifact(directory: Path, manifest) -> Path:
    """Raise ArtifactError unless `manifest` describes the files really in `directory`; returns the model path."""
    directory = Path(directory)
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{directory}/manifest.json holds a {type(manifest).__name__}, not an object; "
                            f"re-export the artifact with `mgrade-edge export`")
    check_manifest(directory, manifest)
    return verify_files(directory, manifest)
