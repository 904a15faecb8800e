"""Atomic writes of every output file: write a temporary file in the same folder, then rename it into place.

A reader (a later stage, a browser, an analyst opening the folder) sees either the previous file or the new
one, never half a file: :func:`os.replace` is atomic on one file system, and the temporary file lives in the
target's own folder so that it is on the same file system. A run killed in the middle therefore leaves every
previous output intact and readable; at most a hidden temporary file (``.<name>.<random>.tmp``) stays behind,
which :func:`remove_stale_temporaries` clears at the start of the next run.

Each helper takes the final path and the content, and returns the path written. :func:`folder_lock` serialises
a read-modify-write of one file by stages that run at the same time (the run notes).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

try:  # POSIX: an advisory lock on the folder itself, so no lock file is left in an output folder
    import fcntl
except ImportError:  # pragma: no cover - Windows: no folder lock; runs execute their stages one at a time
    fcntl = None

TEMPORARY_SUFFIX = ".tmp"
# Whether :func:`folder_lock` really locks (POSIX) or only yields (elsewhere): callers that run stages at the
# same time check it first.
FOLDER_LOCKS = fcntl is not None
CSV_OPTIONS = {"index": False, "encoding": "utf-8", "lineterminator": "\n"}


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on failure remove it.

    Parameters
    ----------
    path : str or Path
        The final file. Its folder is created when missing.

    Yields
    ------
    Path
        Where to write the content (hidden, in the same folder).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; outputs are ordinary files
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def folder_lock(folder: str | Path) -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` while the ``with`` block runs (processes and threads alike).

    The lock is ``flock`` on the folder's own file descriptor: it needs no lock file, and it is released when
    the block ends or the process dies. Every writer of a shared file in the folder takes it around its read
    and its atomic replace, so concurrent writers do not lose each other's rows. Without ``fcntl`` (Windows)
    it only yields, and :data:`FOLDER_LOCKS` is False.

    Parameters
    ----------
    folder : str or Path
        An existing folder.

    Yields
    ------
    Path
        ``folder``.
    """
    folder = Path(folder)
    if fcntl is None:  # pragma: no cover - see FOLDER_LOCKS
        yield folder
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield folder
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (flushed to disk before the rename)."""
    with atomic_path(path) as temporary:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(path)


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically, with newline line ends as given (no newline translation)."""
    return write_bytes(path, text.encode(encoding))


def write_json(path: str | Path, content: Any, *, sort_keys: bool = False) -> Path:
    """Write ``content`` as indented UTF-8 JSON with a final newline, atomically."""
    return write_text(path, json.dumps(content, indent=2, sort_keys=sort_keys, ensure_ascii=False) + "\n")


def write_csv(path: str | Path, table: pd.DataFrame, **options: Any) -> Path:
    """Write ``table`` as CSV atomically (UTF-8, LF line ends, no index unless ``options`` say otherwise)."""
    return write_text(path, table.to_csv(None, **{**CSV_OPTIONS, **options}))


def write_with(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Let ``writer(temporary_path)`` write the file (parquet, xlsx, a notebook), then rename it atomically."""
    with atomic_path(path) as temporary:
        writer(temporary)
    return Path(path)


def write_parquet(path: str | Path, table: pd.DataFrame, **options: Any) -> Path:
    """Write ``table`` as parquet atomically (no index unless ``options`` say otherwise)."""
    return write_with(path, lambda temporary: table.to_parquet(temporary, **{"index": False, **options}))


def write_workbook(path: str | Path, workbook: Any) -> Path:
    """Save an openpyxl workbook atomically."""
    return write_with(path, lambda temporary: workbook.save(temporary))


def write_notebook(path: str | Path, notebook: Any) -> Path:
    """Write an nbformat notebook atomically, byte for byte as :func:`nbformat.write` would."""
    import nbformat

    text = nbformat.writes(notebook)
    return write_text(path, text if text.endswith("\n") else text + "\n")


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove temporary files a killed run left under ``folder`` (recursively); return what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = sorted(p for p in folder.rglob(f".*{TEMPORARY_SUFFIX}") if p.is_file())
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


# --- Exports meant for a spreadsheet program ----------------------------------------------------------------

# A cell starting with one of these is a formula to Excel or LibreOffice (tab and CR hide a leading one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: Any) -> Any:
    """Return a text cell that starts like a formula prefixed with ``'``, so no spreadsheet evaluates it.

    Only text is changed; numbers (a negative number is no formula) and missing values pass unchanged. Used
    for exports meant for officials' spreadsheets (``selection.xlsx``); the processed CSV and parquet files
    keep the exact text.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``table`` with :func:`neutralise_formula` applied to every text cell."""
    out = table.copy()
    for column in out.columns:
        if pd.api.types.is_object_dtype(out[column]) or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_formula, na_action="ignore")
    return out
