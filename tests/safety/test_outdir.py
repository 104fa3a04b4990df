"""The no-replace move, with renameat2 and with the lock-file fallback."""

import pytest

from mgrade_edge.errors import OutputPathError
from mgrade_edge.safety import outdir


@pytest.mark.parametrize("fallback", [False, True])
def test_rename_noreplace_never_replaces(tmp_path, monkeypatch, fallback):
    if fallback:
        monkeypatch.setattr(outdir, "_renameat2", lambda src, dst: None)
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    (src / "a").write_text("new")
    dst.mkdir()  # even an empty directory is kept (plain rename would replace it)
    assert outdir.rename_noreplace(src, dst) is False
    assert (src / "a").exists() and list(dst.iterdir()) == []
    dst.rmdir()
    assert outdir.rename_noreplace(src, dst) is True
    assert (dst / "a").read_text() == "new" and not src.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst"]  # no lock file left


def test_lock_held_by_another_export_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setattr(outdir, "_renameat2", lambda src, dst: None)
    (tmp_path / ".dst.lock").write_text("")
    (tmp_path / "src").mkdir()
    with pytest.raises(OutputPathError, match="another export to .* is finishing"):
        outdir.rename_noreplace(tmp_path / "src", tmp_path / "dst")


def test_publish_refuses_a_replaced_artifact(tmp_path):
    out = tmp_path / "art"
    out.mkdir()
    (out / "manifest.json").write_text('{"tool": "mgrade-edge", "files": {}}')
    before = outdir.check_output_dir(out, force=True)
    out.rename(tmp_path / "moved")  # someone swaps in another directory of ours meanwhile
    out.mkdir()
    (out / "manifest.json").write_text('{"tool": "mgrade-edge", "files": {}}')
    tmp = outdir.new_artifact_dir(out)
    with pytest.raises(OutputPathError, match="appeared or changed"):
        outdir.publish(tmp, out, before)
    assert (out / "manifest.json").exists() and tmp.exists()
