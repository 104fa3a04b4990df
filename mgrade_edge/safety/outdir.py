"""Output directories that never cost the user a file.

Three rules:
- `--force` replaces only a directory mgrade-edge itself wrote: it holds our manifest.json and
  nothing the manifest does not list. The checkpoint's directory, the working directory, `/`
  and their ancestors are never a valid --out, with or without --force.
- The artifact is built in a temporary sibling and moved into place with a no-replace rename
  (renameat2 RENAME_NOREPLACE; a lock file where that is unavailable), so whatever appeared at
  --out during the export (a user's directory, a concurrent export) is never replaced.
- What was at --out when the export started is remembered (device, inode); if it changed meanwhile
  the export is refused instead of replacing someone else's result.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import ArtifactError, OutputPathError
from ..manifest import MANIFEST, changed_files, load_json

_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _name_max(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def protected_dirs(inputs: list[Path]) -> dict[Path, str]:
    """Directories --out may never be (nor an ancestor of): /, the working directory, every input's directory."""
    dirs = {Path("/"): "the root directory", Path.cwd().resolve(): "the working directory"}
    for item in inputs:
        dirs.setdefault(Path(item).resolve().parent, f"the directory of {Path(item).name}")
    return dirs


def owned_artifact(directory: Path) -> str | None:
    """None if `directory` is an artifact mgrade-edge wrote (our manifest, no foreign files), else why not."""
    try:
        manifest = load_json(directory)
    except (OSError, ArtifactError):
        return f"it holds no readable {MANIFEST} written by mgrade-edge"
    if manifest.get("tool") != "mgrade-edge":
        return f"its {MANIFEST} was not written by mgrade-edge"
    listed = manifest.get("files")
    if isinstance(listed, dict):  # artifacts that record their files: nothing else may be inside
        present = {str(p.relative_to(directory)) for p in directory.rglob("*") if not p.is_dir()}
        foreign = sorted(present - set(listed) - {MANIFEST})
        if foreign:
            return f"it holds file(s) mgrade-edge did not write ({', '.join(foreign[:3])})"
        changed = changed_files(directory, manifest)
        if changed:  # a file the user edited inside a previous export is theirs now
            return (f"{changed[0]} differs from the sha256 its manifest recorded (edited after export; "
                    f"{len(changed)} file(s) changed)")
    return None


def _identity(path: Path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def check_output_dir(out: Path, force: bool, inputs: list[Path] = ()) -> object:
    """Refuse a dangerous or unwritable --out before any work; returns what is at `out` now (its identity)."""
    raw = str(out)
    if raw.strip() == "":
        raise OutputPathError("--out is empty; pass the name of a new directory, e.g. --out artifact")
    out = Path(out)
    resolved = Path(os.path.abspath(out))
    try:
        resolved = resolved.parent.resolve() / resolved.name if resolved.name not in ("", ".", "..") \
            else resolved.resolve()
    except OSError:
        pass
    protected = protected_dirs(list(inputs))
    for relation, hit in (("is", lambda d: resolved == d), ("contains", lambda d: resolved in d.parents)):
        for directory, what in protected.items():
            if hit(directory):
                raise OutputPathError(f"--out {out} {relation} {what}; it is never replaced, pass a new directory name")
    if len(resolved.name.encode()) + len(".tmp-xxxxxxxx.") > _name_max(resolved.parent):
        raise OutputPathError(f"--out name is {len(resolved.name.encode())} bytes long, too long for the file system "
                          f"(at most {_name_max(resolved.parent) - 16} here); choose a shorter name")
    try:
        return _check_existing(out, resolved, force)
    except OSError as exc:  # e.g. a path component that is not a directory, a loop of links
        raise OutputPathError(f"--out {out}: {exc.strerror}; choose another --out") from None


def _check_existing(out: Path, resolved: Path, force: bool) -> object:
    if os.path.islink(out):
        target = os.readlink(out)
        raise OutputPathError(f"--out {out} is a symbolic link (to {target}); pass a real directory name")
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"output {out} exists and is not a directory; remove it or choose another --out")
    if out.exists():
        if not force:
            raise OutputPathError(f"output directory {out} already exists; pass --force to replace it or choose "
                                  f"another --out")
        why = owned_artifact(out)
        if why:
            raise OutputPathError(f"--force replaces only an artifact directory mgrade-edge wrote, but {out}: {why}; "
                              f"choose another --out")
    parent = resolved.parent
    if not parent.exists():
        raise OutputPathError(f"parent directory {out.parent} of --out does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK) or not _can_create_in(parent):
        raise OutputPathError(f"cannot write into {out.parent} (read-only or permission denied); choose a "
                              f"writable --out")
    return _identity(out)


def _can_create_in(parent: Path) -> bool:
    """os.access says yes for root everywhere, even under /proc; really try."""
    try:
        probe = tempfile.mkdtemp(prefix=".mgrade-probe-", dir=parent)
    except OSError:
        return False
    os.rmdir(probe)
    return True


def _renameat2(src: Path, dst: Path) -> bool | None:
    """rename(src, dst) failing if dst exists; None when the kernel or libc lacks renameat2."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL):
        return None
    if err == errno.EEXIST:
        return False
    raise OSError(err, os.strerror(err), str(dst))


@contextlib.contextmanager
def _lock(out: Path):
    """An O_EXCL lock file next to `out`, for file systems without renameat2."""
    lock = out.parent / f".{out.name}.lock"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise OutputPathError(f"another export to {out} is finishing ({lock} exists); retry, or remove the lock file "
                          f"if no export is running") from None
    try:
        yield
    finally:
        os.close(fd)
        lock.unlink(missing_ok=True)


def rename_noreplace(src: Path, dst: Path) -> bool:
    """Move src to dst only if nothing is at dst; False (and nothing moved) if something is."""
    done = _renameat2(src, dst)
    if done is not None:
        return done
    with _lock(dst):
        if os.path.lexists(dst):
            return False
        os.rename(src, dst)
        return True


def _appeared(out: Path) -> OutputPathError:
    return OutputPathError(f"{out} appeared or changed while exporting (another export or program wrote it); "
                       f"it was left untouched and this export was discarded; choose another --out or retry")


def publish(tmp: Path, out: Path, before) -> None:
    """Move the finished artifact `tmp` to `out`. `before` is check_output_dir's identity of what was
    at `out` at the start: None (nothing) -> no-replace move; else the same directory must still be
    there and still be ours, and it is swapped out, never deleted before the new one is in place."""
    if before is None:
        if not rename_noreplace(tmp, out):
            raise _appeared(out)
        return
    if _identity(out) != before or owned_artifact(out):
        raise _appeared(out)
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=tmp.parent))
    prev = aside / "prev"
    os.rename(out, prev)  # prev does not exist: a plain rename never replaces anything here
    if _identity(prev) != before or owned_artifact(prev):  # changed between the check and the move
        if rename_noreplace(prev, out):
            aside.rmdir()  # empty again; prev is back where it was
        raise _appeared(out)
    if not rename_noreplace(tmp, out):
        rename_noreplace(prev, Path(str(out) + ".previous"))
        raise OutputPathError(f"{out} appeared while replacing it; the previous artifact is now {out}.previous and "
                          f"this export was discarded")
    shutil.rmtree(aside, ignore_errors=True)


def new_artifact_dir(out: Path) -> Path:
    """The temporary sibling, with the permissions of an ordinary new directory (mkdtemp makes it 0700)."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent if str(out.parent) else "."))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    return tmp


def check_output_file(path: Path, force: bool, what: str = "--out") -> None:
    """A single output file (checkpoint, plot): refuse an existing one without --force, a directory,
    a dangling symlink and an unwritable or missing parent, before any work is done."""
    path = Path(path)
    if str(path).strip() == "" or path.name in ("", ".", ".."):
        raise OutputPathError(f"{what} {str(path)!r} is not a file name; pass e.g. {what} model.pt")
    parent = Path(os.path.abspath(path)).parent if path.parent.is_dir() else Path(".")
    if len(path.name.encode()) + 16 > _name_max(parent):
        raise OutputPathError(f"{what} file name is too long for the file system; choose a shorter name")
    if path.is_dir():
        raise OutputPathError(f"{what} {path} is a directory; pass a file name")
    if os.path.lexists(path) and not path.exists():
        raise OutputPathError(f"{what} {path} is a dangling symbolic link; remove it or choose another name")
    if path.exists() and not force:
        raise OutputPathError(f"{path} already exists; pass --force to overwrite it or choose another {what}")
    parent = Path(os.path.abspath(path)).parent
    if not parent.is_dir():
        raise OutputPathError(f"directory {path.parent} for {what} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK) or not _can_create_in(parent):
        raise OutputPathError(f"cannot write into {path.parent} (read-only or permission denied); choose a "
                              f"writable {what}")
