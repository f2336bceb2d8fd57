"""The runs ledger: one SQLite row per training run, the record the statistical model is fitted to.

A run moves ``proposed -> running -> done | failed``. Every move is one transaction guarded by the
status it expects (``UPDATE ... WHERE status = ?``), so two processes racing for the same run, or a
move from the wrong status, raise ``InputError`` and leave the row as it was. SQLite in WAL mode with
a busy timeout lets many executors write at once; ``synchronous=FULL`` makes a commit survive a crash
of the machine, not only of the process. CSV import validates every row before it writes any, in one
transaction. ``to_dataset`` is the labelled view the model reads, and ``fingerprint`` identifies the
runs a posterior was fitted on, so a stale posterior is detected (docs/ledger.md).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bayes_moe.errors import InputError, MachineFault
from bayes_moe.fields import check_value, parse_value
from bayes_moe.files import replacing

if TYPE_CHECKING:
    import xarray as xr

LEDGER_FILE = "ledger.sqlite"  # in a workspace folder (bayes_moe.workspace lists its other files)
SCHEMA_VERSION = 1  # PRAGMA user_version; bump with a migration when the table changes
BUSY_TIMEOUT_S = 60.0
STATUSES = ("proposed", "running", "done", "failed")
IMPORT_EXECUTOR = "import"

_SCHEMA = """
CREATE TABLE runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    r            REAL NOT NULL CHECK (r > 0),
    compute      REAL NOT NULL CHECK (compute > 0),
    sparsity     REAL NOT NULL CHECK (sparsity >= 0 AND sparsity < 1),
    loss         REAL CHECK (loss > 0),
    n_active     INTEGER CHECK (n_active > 0),
    n_total      INTEGER CHECK (n_total >= n_active),
    tokens       REAL CHECK (tokens > 0),
    architecture TEXT,
    executor     TEXT,
    seed         INTEGER CHECK (seed >= 0),
    label        TEXT,
    status       TEXT NOT NULL CHECK (status IN ('proposed', 'running', 'done', 'failed')),
    reason       TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    metrics      TEXT NOT NULL DEFAULT '{}',
    CHECK ((status = 'done') = (loss IS NOT NULL)),
    CHECK ((status = 'failed') = (reason IS NOT NULL)),
    CHECK (status = 'proposed' OR executor IS NOT NULL)
)
"""
_COLUMNS = ("id", "r", "compute", "sparsity", "loss", "n_active", "n_total", "tokens", "architecture",
            "executor", "seed", "label", "status", "reason", "created_at", "updated_at", "metrics")

# --- CSV columns: their values follow the rules of bayes_moe.fields ------------------------------

REQUIRED_CSV_COLUMNS = ("r", "compute", "sparsity", "loss")
OPTIONAL_CSV_COLUMNS = ("n_active", "n_total", "tokens", "seed", "label")
# Written by export for the reader; import accepts them, requires status 'done', and ignores the rest
# (an imported run gets a new id, executor 'import' and its own timestamps).
BOOKKEEPING_CSV_COLUMNS = ("id", "status", "executor", "reason", "created_at", "updated_at")
EXPORT_COLUMNS = ("id", "status") + REQUIRED_CSV_COLUMNS + OPTIONAL_CSV_COLUMNS + BOOKKEEPING_CSV_COLUMNS[2:]
_DUPLICATE_KEY = REQUIRED_CSV_COLUMNS + OPTIONAL_CSV_COLUMNS
_FINGERPRINTED = ("id", "r", "compute", "sparsity", "loss", "n_active", "n_total", "tokens")
_DATASET_VARIABLES = ("r", "compute", "sparsity", "loss", "n_active", "n_total", "tokens")

def _check_sizes(n_active, n_total) -> None:
    if n_active is not None and n_total is not None and n_active > n_total:
        raise InputError(f"n_active ({n_active}) must be <= n_total ({n_total})")


# --- runs -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Run:
    """One row of the ledger. ``r`` and ``sparsity`` are those of the architecture trained;
    ``compute`` is total training FLOPs, ``loss`` natural-log cross-entropy (nats)."""

    id: int
    r: float
    compute: float
    sparsity: float
    loss: float | None
    n_active: int | None
    n_total: int | None
    tokens: float | None
    arch: dict | None
    executor: str | None
    seed: int | None
    label: str | None
    status: str
    reason: str | None
    created_at: str
    updated_at: str
    metrics: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> "Run":
        values = dict(row)
        architecture = values.pop("architecture")
        values["arch"] = None if architecture is None else json.loads(architecture)
        values["metrics"] = json.loads(values["metrics"])
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def _json(name: str, value: dict | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InputError(f"{name} must be a dict, got {type(value).__name__}")
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InputError(f"{name} is not JSON-serialisable: {error}") from None


def _status_filter(status: str | tuple | None) -> tuple[str, tuple]:
    if status is None:
        return "", ()
    statuses = (status,) if isinstance(status, str) else tuple(status)
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown or not statuses:
        raise InputError(f"unknown status {unknown or status!r}; choose from {', '.join(STATUSES)}")
    return f" WHERE status IN ({', '.join('?' * len(statuses))})", statuses


def _check_ledger_file(path: Path) -> None:
    """``InputError`` unless ``path`` is a non-empty file: SQLite would take a missing or empty file for a
    new database, and a read command must not turn a truncated ledger into an empty one."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(f"no ledger at {path}; create the workspace with `bayes-moe init`") from None
    except OSError as error:
        raise InputError(f"cannot read ledger {path}: {error.strerror}") from None
    if not path.is_file():
        raise InputError(f"{path} is not a file; a workspace's ledger is the file {LEDGER_FILE}")
    if size == 0:
        raise InputError(f"{path} is empty (0 bytes), not a ledger: its runs are lost unless a copy or an "
                         f"export exists; restore it, or move it away and `bayes-moe init` a new workspace")


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    """A connection that never creates the file. A reader is held to reading by ``PRAGMA query_only``; where
    it may write the file and its folder it opens them ``mode=rw`` all the same, so that closing removes the
    ``-wal``/``-shm`` files WAL readers need, as a writer's close does. Elsewhere it opens ``mode=ro``, and a
    WAL ledger whose folder it cannot write (no ``-shm`` can be made) and that has no ``-wal`` pending is read
    as immutable: nothing can be writing it, so nothing is missed."""
    may_write = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    uri = f"{path.resolve().as_uri()}?mode={'rw' if may_write or not readonly else 'ro'}"
    if readonly and not os.access(path.parent, os.W_OK) and not path.with_name(path.name + "-wal").exists():
        uri += "&immutable=1"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        if readonly:
            connection.execute("PRAGMA query_only = ON")
    except sqlite3.DatabaseError as error:
        raise _sqlite_fault(path, error) or error from None
    connection.row_factory = sqlite3.Row
    return connection


_DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_NO_ACCESS = {sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_AUTH}
_MACHINE = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED,
            sqlite3.SQLITE_NOMEM}


def _free_space_note(path: Path) -> str:
    """``"; the disk is full (N bytes free)"`` when it nearly is: SQLite often reports that as an I/O error."""
    try:
        stats = os.statvfs(path.parent)
    except OSError:
        return ""
    free = stats.f_bavail * stats.f_frsize
    return f"; the disk is full ({free} bytes free)" if free < 1024 * 1024 else ""


def damaged(path: Path, cause: str) -> InputError:
    """The error for a ledger with damaged pages, ``cause`` being SQLite's finding."""
    return InputError(f"ledger {path} is damaged ({cause}); `bayes-moe check` says which runs are still readable; "
                      f"restore the file from a copy")


def _sqlite_fault(path: Path, error: sqlite3.DatabaseError) -> InputError | MachineFault | None:
    """The one-line error a user sees for SQLite's ``error`` on ``path``; None for an error of the code."""
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF  # the primary result code
    if code in _DAMAGED:
        return damaged(path, str(error))
    if code in _NO_ACCESS:
        return InputError(f"cannot open ledger {path} ({error}): check the permissions of the file and its folder")
    if code == sqlite3.SQLITE_READONLY:
        return InputError(f"cannot write ledger {path} ({error}): the file or its folder is not writable "
                          f"by this user; status, export and check only read and still work")
    if code in _MACHINE:
        return MachineFault(f"ledger {path}: {error}{_free_space_note(path)} (a fault of the machine, not of the "
                            f"ledger: nothing was written; free space or wait for the other process, then run "
                            f"the command again)")
    return None


class Ledger:
    """The runs of one workspace, in ``<workspace>/ledger.sqlite``. Open with ``Ledger.open``."""

    def __init__(self, path: Path, connection: sqlite3.Connection):
        self.path = path
        self._db = connection

    # --- opening ----------------------------------------------------------------------------------

    @classmethod
    def open(cls, workspace: Path, *, create: bool = False, readonly: bool = False) -> "Ledger":
        """The ledger of ``workspace``. Opening writes nothing to an existing ledger: ``readonly`` opens it for
        reading only (a workspace on read-only media or with its write permission removed reads fine); else it
        is opened for writing and switched to WAL once it is known to be a bayes_moe ledger. ``create`` makes
        the folder and a new ledger, and refuses one that exists. ``InputError`` if there is none (and not
        ``create``), the file is empty, not a ledger, damaged, or its schema is newer than this code."""
        path = Path(workspace) / LEDGER_FILE
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:  # exclusive: two creators cannot both think the new ledger is theirs
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            except FileExistsError:
                raise InputError(f"{path} exists already; a new ledger is never written over one") from None
        else:
            _check_ledger_file(path)
        ledger = cls(path, _connect(path, readonly))
        try:
            with ledger._faults():
                ledger._prepare(create, readonly)
        except BaseException:
            ledger.close()
            raise
        return ledger

    def _prepare(self, create: bool, readonly: bool) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if create:
            db.execute("PRAGMA journal_mode = WAL")
            with self._transaction():
                db.execute(_SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._check_schema()
        if not readonly:
            db.execute("PRAGMA synchronous = FULL")
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode = WAL")

    def _check_schema(self) -> None:
        """``InputError`` unless the file holds a bayes_moe ledger this code can read (read only)."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version > SCHEMA_VERSION:
            raise InputError(f"ledger {self.path} has schema version {version}, newer than this "
                             f"bayes_moe reads ({SCHEMA_VERSION}); upgrade bayes_moe")
        if version != SCHEMA_VERSION or "runs" not in tables:
            raise InputError(f"{self.path} is not a bayes_moe ledger (schema version {version}, "
                             f"tables {sorted(tables)}); it was left unchanged")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _faults(self):
        """SQLite errors that describe the file, not the code, as one-line errors naming it: a damaged,
        read-only or unopenable ledger (``InputError``), a full disk, an I/O error or a lock held past the
        timeout (``MachineFault``). Any other SQLite error is a bug and keeps its traceback."""
        try:
            yield
        except sqlite3.DatabaseError as error:
            fault = _sqlite_fault(self.path, error)
            if fault is None:
                raise
            raise fault from None

    @contextlib.contextmanager
    def _transaction(self):
        """A write transaction that takes the write lock at once (``BEGIN IMMEDIATE``), so that what
        it reads cannot change before it writes; rolled back on any error (unless SQLite already did,
        as it does on a full disk: the first error is the one reported)."""
        with self._faults():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _read(self, sql: str, parameters: tuple = ()) -> list[sqlite3.Row]:
        with self._faults():
            return self._db.execute(sql, parameters).fetchall()

    # --- reading ----------------------------------------------------------------------------------

    def get(self, run_id: int) -> Run:
        rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise InputError(f"no run with id {run_id!r} in {self.path}")
        return Run._from_row(rows[0])

    def runs(self, status: str | tuple | None = None, min_compute: float | None = None) -> list[Run]:
        """Runs in id order, all or those with ``status`` (one or a tuple of statuses), at or above
        ``min_compute`` where given."""
        where, params = _status_filter(status)
        runs = [Run._from_row(row) for row in self._read(f"SELECT * FROM runs{where} ORDER BY id", params)]
        return runs if min_compute is None else [run for run in runs if run.compute >= min_compute]

    def counts(self) -> dict[str, int]:
        """Number of runs in each status (every status present, zeros included)."""
        found = dict(self._read("SELECT status, COUNT(*) FROM runs GROUP BY status"))
        return {status: found.get(status, 0) for status in STATUSES}

    def to_dataset(self, status: str | tuple | None = "done", min_compute: float | None = None) -> xr.Dataset:
        """The runs as an ``xarray.Dataset`` along dim ``run`` (coordinate: run id): float variables
        r, compute, sparsity, loss, n_active, n_total, tokens and coordinate seed (NaN where unknown);
        coordinates label and executor ('' where none); only runs at or above ``min_compute`` where
        given. ``attrs['ledger_fingerprint']`` is the ``fingerprint`` of exactly these rows, read in the
        same query."""
        import xarray as xr  # ~1 s to import: only the model needs this view, not the CLI or executors

        runs = self.runs(status, min_compute)
        variables = {
            name: ("run", np.array([np.nan if getattr(run, name) is None else getattr(run, name) for run in runs],
                                   dtype=float))
            for name in _DATASET_VARIABLES
        }
        coords = {
            "run": np.array([run.id for run in runs], dtype=np.int64),
            "label": ("run", np.array([run.label or "" for run in runs], dtype=object)),
            "seed": ("run", np.array([np.nan if run.seed is None else run.seed for run in runs], dtype=float)),
            "executor": ("run", np.array([run.executor or "" for run in runs], dtype=object)),
        }
        attrs = {"ledger_fingerprint": _fingerprint(runs), "status": ",".join(_status_filter(status)[1])}
        return xr.Dataset(variables, coords=coords, attrs=attrs)

    def fingerprint(self, status: str | tuple | None = "done", min_compute: float | None = None) -> str:
        """sha256 (hex) over (id, r, compute, sparsity, loss, n_active, n_total, tokens) of the runs
        with ``status`` (at or above ``min_compute`` where given), in id order: equal fingerprints mean a
        model sees the same data."""
        return _fingerprint(self.runs(status, min_compute))

    # --- writing ----------------------------------------------------------------------------------

    def add_run(self, r, compute, sparsity, *, arch: dict | None = None, tokens=None, n_active=None,
                n_total=None, executor: str | None = None, seed=None, label: str | None = None,
                metrics: dict | None = None) -> int:
        """Record a run to be trained, status 'proposed'; returns its id."""
        values = _checked(dict(r=r, compute=compute, sparsity=sparsity, tokens=tokens, n_active=n_active,
                               n_total=n_total, seed=seed, label=label))
        if executor is not None and not isinstance(executor, str):
            raise InputError(f"executor must be text, got {executor!r}")
        now = _now()
        row = dict(values, architecture=_json("arch", arch), executor=executor, status="proposed",
                   created_at=now, updated_at=now, metrics=_json("metrics", metrics or {}))
        with self._transaction() as db:
            return self._insert(db, row)

    def start(self, run_id: int, executor: str) -> Run:
        """proposed -> running, by ``executor`` (e.g. 'trainer', 'simulator')."""
        if not isinstance(executor, str) or not executor:
            raise InputError(f"executor must be a non-empty name, got {executor!r}")
        return self._move(run_id, "proposed", "running", executor=executor)

    def finish(self, run_id: int, loss, *, tokens=None, metrics: dict | None = None) -> Run:
        """running -> done with its final ``loss`` (nats); ``tokens`` replaces the planned count
        when given, ``metrics`` are merged into the run's metrics."""
        changes = {"loss": check_value("loss", loss)}
        if tokens is not None:
            changes["tokens"] = check_value("tokens", tokens)
        return self._move(run_id, "running", "done", metrics=metrics, **changes)

    def fail(self, run_id: int, reason: str) -> Run:
        """running -> failed; ``reason`` says why and is kept."""
        if not isinstance(reason, str) or not reason.strip():
            raise InputError(f"a failed run needs a reason, got {reason!r}")
        return self._move(run_id, "running", "failed", reason=reason)

    def _move(self, run_id: int, before: str, after: str, *, metrics: dict | None = None, **changes) -> Run:
        _json("metrics", metrics)  # reject bad metrics before taking the lock
        with self._transaction() as db:
            current = self.get(run_id)
            if current.status != before:
                raise InputError(f"run {run_id} is {current.status!r}, not {before!r}: cannot move it to {after!r}")
            changes.update(status=after, updated_at=_now(),
                           metrics=_json("metrics", {**current.metrics, **(metrics or {})}))
            assignments = ", ".join(f"{name} = ?" for name in changes)
            cursor = db.execute(f"UPDATE runs SET {assignments} WHERE id = ? AND status = ?",
                                (*changes.values(), run_id, before))
            if cursor.rowcount != 1:  # cannot happen while the write lock is held; never write blind
                raise InputError(f"run {run_id} changed while being moved to {after!r}; ledger unchanged")
            return self.get(run_id)

    @staticmethod
    def _insert(db: sqlite3.Connection, row: dict) -> int:
        names = ", ".join(row)
        cursor = db.execute(f"INSERT INTO runs ({names}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
        return cursor.lastrowid

    # --- CSV --------------------------------------------------------------------------------------

    def import_csv(self, path) -> list[int]:
        """Import measured runs (status 'done', executor 'import') from a CSV with columns r, compute,
        sparsity, loss and optionally n_active, n_total, tokens, seed, label (and the bookkeeping
        columns ``export_csv`` writes). Every row is checked before any is written, in one transaction:
        all rows or none. Rows identical to another row of the file or to a run already in the ledger
        are errors. Returns the new ids in file order."""
        path = Path(path)
        rows = _read_csv(path)
        now = _now()
        with self._transaction() as db:
            existing = {tuple(row) for row in self._read(f"SELECT {', '.join(_DUPLICATE_KEY)} FROM runs")}
            for number, line, values in rows:
                if _duplicate_key(values) in existing:
                    raise InputError(f"{path}, data row {number} (line {line}): the same run is already in "
                                     f"the ledger {self.path} (duplicate of an earlier import?)")
            return [self._insert(db, dict(values, executor=IMPORT_EXECUTOR, status="done", created_at=now,
                                          updated_at=now, metrics="{}"))
                    for _, _, values in rows]

    def export_csv(self, path, status: str | tuple | None = None) -> int:
        """Write the runs (all, or those with ``status``) to ``path`` as CSV, atomically and through a
        symlink, keeping an existing file's permissions (``files.replacing``). Returns the number of runs."""
        with replacing(path) as handle:
            return self.write_csv(handle, status)

    def write_csv(self, handle, status: str | tuple | None = None) -> int:
        """Write the runs (all, or those with ``status``) to the text stream ``handle``, columns
        ``EXPORT_COLUMNS``, floats exact; returns their number. The architecture and metrics JSON stay in
        the ledger only."""
        return write_runs(handle, self.runs(status))

    # --- integrity --------------------------------------------------------------------------------

    def integrity_problems(self, limit: int = 20, quick: bool = False) -> list[str]:
        """SQLite's ``PRAGMA integrity_check`` (at most ``limit`` findings); empty when the file is whole.
        ``quick``: ``quick_check``, which skips the indexes' agreement with the table (one pass, ~linear)."""
        pragma = "quick_check" if quick else "integrity_check"
        try:
            rows = self._db.execute(f"PRAGMA {pragma}({int(limit)})").fetchall()
        except sqlite3.DatabaseError as error:  # damage that stops the check itself is its finding
            if error.sqlite_errorcode & 0xFF not in _DAMAGED:
                raise
            return [f"{error} (the check stopped there)"]
        found = [line for row in rows for line in row[0].splitlines() if not line.startswith("*** in database")]
        return [] if found == ["ok"] else found[:limit]

    def read_back(self) -> tuple[list[Run], list[int]]:
        """(the runs that read back whole, the ids of those that do not). Runs are never deleted and ids
        never reused, so every id up to the largest handed out (``sqlite_sequence``) must read; each is
        read on its own, so a damaged page costs only the runs on it."""
        try:
            issued = self._read("SELECT seq FROM sqlite_sequence WHERE name = 'runs'")
        except InputError:  # the sequence's own page is damaged: go up to the largest id that reads
            issued = self._read("SELECT MAX(id) FROM runs")
        last = (issued[0][0] or 0) if issued else 0
        readable, unreadable = [], []
        for run_id in range(1, last + 1):
            try:
                readable.append(self.get(run_id))
            except InputError:
                unreadable.append(run_id)
        return readable, unreadable


def write_runs(handle, runs: list[Run]) -> int:
    """``runs`` as CSV on the text stream ``handle`` (``Ledger.write_csv``); returns their number."""
    writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for run in runs:
        writer.writerow({name: _csv_cell(getattr(run, name)) for name in EXPORT_COLUMNS})
    return len(runs)


def _checked(values: dict) -> dict:
    """The measured fields of ``values`` checked (``None`` = unknown), sizes consistent."""
    checked = {name: None if value is None else check_value(name, value) for name, value in values.items()}
    _check_sizes(checked.get("n_active"), checked.get("n_total"))
    return checked


def _fingerprint(runs: list[Run]) -> str:
    rows = [[getattr(run, name) for name in _FINGERPRINTED] for run in runs]
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def _duplicate_key(values: dict) -> tuple:
    return tuple(values.get(name) for name in _DUPLICATE_KEY)


def _csv_cell(value) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def _read_csv(path: Path) -> list[tuple[int, int, dict]]:
    """(data row number, line number, checked values) of every row; ``InputError`` at the first bad one.
    Data rows are numbered from 1 after the header, blank lines skipped and not counted."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise InputError(f"{path} is empty: expected a header with columns {', '.join(REQUIRED_CSV_COLUMNS)}")
            header = [name.strip() for name in header]
            _check_header(path, header)
            rows, seen = [], {}
            for number, cells in enumerate((cells for cells in reader if any(c.strip() for c in cells)), start=1):
                values = _read_row(path, number, reader.line_num, header, cells)
                key = _duplicate_key(values)
                if key in seen:
                    raise InputError(f"{path}, data row {number} (line {reader.line_num}) repeats data row "
                                     f"{seen[key]}")
                seen[key] = number
                rows.append((number, reader.line_num, values))
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except (IsADirectoryError, PermissionError) as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{path} is not a readable CSV file: {error}") from None
    if not rows:
        raise InputError(f"{path} has a header but no data rows")
    return rows


def _check_header(path: Path, header: list[str]) -> None:
    known = REQUIRED_CSV_COLUMNS + OPTIONAL_CSV_COLUMNS + BOOKKEEPING_CSV_COLUMNS
    unknown = [name for name in header if name not in known]
    if unknown:
        raise InputError(f"{path}: unknown column(s) {', '.join(map(repr, unknown))}; the columns are "
                         f"{', '.join(REQUIRED_CSV_COLUMNS)} (required), {', '.join(OPTIONAL_CSV_COLUMNS)} "
                         f"(optional) and {', '.join(BOOKKEEPING_CSV_COLUMNS)} (written by export, not read)")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(f"{path}: column(s) {', '.join(map(repr, repeated))} appear more than once in the header")
    missing = [name for name in REQUIRED_CSV_COLUMNS if name not in header]
    if missing:
        raise InputError(f"{path}: missing required column(s) {', '.join(map(repr, missing))}")


def _read_row(path: Path, number: int, line: int, header: list[str], cells: list[str]) -> dict:
    where = f"{path}, data row {number} (line {line})"
    if len(cells) != len(header):
        raise InputError(f"{where} has {len(cells)} fields, the header has {len(header)}")
    cells = dict(zip(header, (cell.strip() for cell in cells)))
    status = cells.get("status", "done") or "done"
    if status != "done":
        raise InputError(f"{where}, column 'status': {status!r}; only measured runs (status 'done') can be imported")
    values = {}
    for name in REQUIRED_CSV_COLUMNS + OPTIONAL_CSV_COLUMNS:
        text = cells.get(name, "")
        if text == "":
            if name in REQUIRED_CSV_COLUMNS:
                raise InputError(f"{where}, column {name!r}: value is empty; {name} is required")
            values[name] = None
            continue
        try:
            values[name] = parse_value(name, text)
        except InputError as error:
            raise InputError(f"{where}, column {name!r}: {error}") from None
    try:
        _check_sizes(values["n_active"], values["n_total"])
    except InputError as error:
        raise InputError(f"{where}, columns 'n_active', 'n_total': {error}") from None
    return values
