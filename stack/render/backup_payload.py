"""The file steps of a backup and a restore: standard library only, because this very file is
run by `python3 -c` inside the pinned Open WebUI image (its Python has sqlite3), and the
integration drill runs it on local directories.

    reset DIR                        empty DIR (the staging or restore area)
    stage-webui DATA STAGING MODEL…  online SQLite copy, uploads, the model list
    seal STAGING                     write MANIFEST.json: sha256 and size of every file
    verify ROOT                      check every file against MANIFEST.json (exit 3 when one
                                     differs); print the verified files and sizes as JSON
    apply-webui ROOT DATA            put the database and uploads back into DATA
    stamp DIR                        record now as the last good backup, in DIR/ai_stack_backup.prom
                                     (node-exporter's textfile collector serves it to Prometheus)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

MANIFEST = "MANIFEST.json"
DB = "webui.db"
WEBUI = "open-webui"
UPLOADS = "uploads"
MODELS = "models.txt"
FORMAT = 1
CORRUPT_EXIT = 3


class CorruptError(Exception):
    """The backup does not match its manifest: nothing may be restored from it."""


def reset(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy while Open WebUI keeps writing
    (https://www.sqlite.org/backup.html); a file copy of a live database can be torn."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
        check = dst.execute("PRAGMA integrity_check").fetchone()
        if check != ("ok",):
            raise CorruptError(f"{source}: the copy fails SQLite's integrity_check: {check}")
    finally:
        dst.close()
        src.close()


def stage_webui(data: Path, staging: Path, models: Sequence[str]) -> None:
    out = staging / WEBUI
    db = data / DB
    if db.exists():
        sqlite_copy(db, out / DB)
    if (data / UPLOADS).is_dir():
        shutil.copytree(data / UPLOADS, out / UPLOADS, symlinks=True)
    # Models are pulled again from this list (the weights are not backed up).
    (staging / MODELS).write_text("".join(f"{m}\n" for m in models))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)


def seal(staging: Path) -> dict[str, object]:
    files = {str(p.relative_to(staging)): {"sha256": _sha256(p), "size": p.stat().st_size} for p in _files(staging)}
    manifest: dict[str, object] = {"format": FORMAT, "created": int(time.time()), "files": files}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def verify(root: Path) -> dict[str, int]:
    """Every file the manifest lists, with its size and sha256; raise CorruptError naming each problem."""
    path = root / MANIFEST
    if not path.is_file():
        raise CorruptError(f"{path}: no manifest: this is not a complete ai-stack backup")
    try:
        manifest = json.loads(path.read_text())
        files: dict[str, dict[str, object]] = manifest["files"]
    except (ValueError, KeyError, TypeError) as err:
        raise CorruptError(f"{path}: unreadable manifest ({err})") from None
    problems = []
    for name, want in sorted(files.items()):
        p = root / name
        if not p.is_file():
            problems.append(f"{name}: missing")
        elif p.stat().st_size != want["size"]:
            problems.append(f"{name}: {p.stat().st_size} bytes, the manifest says {want['size']} (truncated?)")
        elif _sha256(p) != want["sha256"]:
            problems.append(f"{name}: sha256 differs from the manifest (corrupt)")
    extra = sorted(str(p.relative_to(root)) for p in _files(root) if str(p.relative_to(root)) not in files)
    problems += [f"{name}: not in the manifest" for name in extra]
    if problems:
        raise CorruptError("the backup does not match its manifest:\n  " + "\n  ".join(problems))
    return {name: int(str(files[name]["size"])) for name in sorted(files)}


def apply_webui(root: Path, data: Path) -> None:
    """Replace Open WebUI's database and uploads with the backup's (Open WebUI is stopped)."""
    src = root / WEBUI
    data.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        (data / f"{DB}{suffix}").unlink(missing_ok=True)
    if (src / DB).exists():
        shutil.copy2(src / DB, data / f"{DB}.restoring")
        os.replace(data / f"{DB}.restoring", data / DB)
    if (data / UPLOADS).exists():
        shutil.rmtree(data / UPLOADS)
    if (src / UPLOADS).is_dir():
        shutil.copytree(src / UPLOADS, data / UPLOADS, symlinks=True)


STAMP = "ai_stack_backup.prom"
STAMP_METRIC = "ai_stack_backup_last_success_timestamp_seconds"


def stamp(directory: Path, now: float | None = None) -> Path:
    """Write the metric atomically: node-exporter never reads a half-written file (its textfile
    collector reads *.prom only, and the rename is atomic on one filesystem)."""
    directory.mkdir(parents=True, exist_ok=True)
    when = int(time.time() if now is None else now)
    text = (
        f"# HELP {STAMP_METRIC} When the last backup that completed every step finished.\n"
        f"# TYPE {STAMP_METRIC} gauge\n{STAMP_METRIC} {when}\n"
    )
    tmp = directory / f".{STAMP}.tmp"
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, directory / STAMP)
    return directory / STAMP


def main(argv: Sequence[str]) -> int:
    cmd, *args = argv
    try:
        if cmd == "reset":
            reset(Path(args[0]))
        elif cmd == "stage-webui":
            stage_webui(Path(args[0]), Path(args[1]), args[2:])
        elif cmd == "seal":
            print(f"sealed {len(seal(Path(args[0]))['files'])} files")  # type: ignore[arg-type]
        elif cmd == "verify":
            # The verified list, for the restore to say what it will overwrite.
            print(json.dumps(verify(Path(args[0]))))
        elif cmd == "apply-webui":
            apply_webui(Path(args[0]), Path(args[1]))
        elif cmd == "stamp":
            print(f"recorded {stamp(Path(args[0]))}")
        else:
            print(f"unknown step {cmd!r}", file=sys.stderr)
            return 2
    except CorruptError as err:
        print(f"ai-stack backup: REFUSED: {err}", file=sys.stderr)
        return CORRUPT_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
