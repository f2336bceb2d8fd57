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
import math
import numbers
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bayes_moe.config import CAMPAIGN_FILE, Campaign, dump_campaign, load_campaign
from bayes_moe.errors import InputError

if TYPE_CHECKING:
    import xarray as xr

LEDGER_FILE = "ledger.sqlite"
RUNS_FILE = "runs.csv"  # the runs a campaign folder ships (experiments/*/runs.csv)
POSTERIOR_FILE = "posterior.nc"  # the fitted posterior beside the ledger (bayes_moe.posterior reads and writes it)
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

# --- the measured fields and their rules: one source for add_run, CSV import and CLI flags --------

_FIELD_TYPES = {"r": float, "compute": float, "sparsity": float, "loss": float, "tokens": float,
                "n_active": int, "n_total": int, "seed": int, "label": str}
_FIELD_RULES = {  # (test, what it demands)
    "r": (lambda v: v > 0, "> 0"),
    "compute": (lambda v: v > 0, "> 0 (total training FLOPs)"),
    "sparsity": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "loss": (lambda v: v > 0, "> 0 (nats)"),
    "tokens": (lambda v: v > 0, "> 0"),
    "n_active": (lambda v: v > 0, "> 0"),
    "n_total": (lambda v: v > 0, "> 0"),
    "seed": (lambda v: v >= 0, ">= 0"),
}
REQUIRED_CSV_COLUMNS = ("r", "compute", "sparsity", "loss")
OPTIONAL_CSV_COLUMNS = ("n_active", "n_total", "tokens", "seed", "label")
# Written by export for the reader; import accepts them, requires status 'done', and ignores the rest
# (an imported run gets a new id, executor 'import' and its own timestamps).
BOOKKEEPING_CSV_COLUMNS = ("id", "status", "executor", "reason", "created_at", "updated_at")
EXPORT_COLUMNS = ("id", "status") + REQUIRED_CSV_COLUMNS + OPTIONAL_CSV_COLUMNS + BOOKKEEPING_CSV_COLUMNS[2:]
_DUPLICATE_KEY = REQUIRED_CSV_COLUMNS + OPTIONAL_CSV_COLUMNS
_FINGERPRINTED = ("id", "r", "compute", "sparsity", "loss", "n_active", "n_total", "tokens")
_DATASET_VARIABLES = ("r", "compute", "sparsity", "loss", "n_active", "n_total", "tokens")


def check_value(name: str, value):
    """``value`` of measured field ``name`` as its Python type; ``InputError`` ("name must be ...")
    if it has the wrong type, is not finite, or breaks the field's rule."""
    kind = _FIELD_TYPES[name]
    if kind is str:
        if not isinstance(value, str):
            raise InputError(f"{name} must be text, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise InputError(f"{name} must be finite, got {value!r}")
    if kind is int:
        if value != int(value):
            raise InputError(f"{name} must be an integer, got {value!r}")
        value = int(value)
    else:
        value = float(value)
    test, demand = _FIELD_RULES[name]
    if not test(value):
        raise InputError(f"{name} must be {demand}, got {value!r}")
    return value


def parse_value(name: str, text: str):
    """Field ``name`` read from text (a CSV cell or a CLI flag), checked by ``check_value``."""
    kind = _FIELD_TYPES[name]
    if kind is str:
        return text
    try:
        number = int(text) if kind is int and text.strip().lstrip("+-").isdigit() else float(text)
    except ValueError:
        raise InputError(f"{name} must be a number, got {text!r}") from None
    return check_value(name, number)


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


class Ledger:
    """The runs of one workspace, in ``<workspace>/ledger.sqlite``. Open with ``Ledger.open``."""

    def __init__(self, path: Path, connection: sqlite3.Connection):
        self.path = path
        self._db = connection

    # --- opening ----------------------------------------------------------------------------------

    @classmethod
    def open(cls, workspace: Path, create: bool = False) -> "Ledger":
        """The ledger of ``workspace``; with ``create``, make the folder and an empty ledger if missing.
        ``InputError`` if there is none (and not ``create``), the file is not a ledger, or its schema
        is newer than this code."""
        path = Path(workspace) / LEDGER_FILE
        if not path.is_file():
            if not create:
                raise InputError(f"no ledger at {path}; create the workspace with `bayes-moe init`")
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as error:
            raise InputError(f"cannot open ledger {path}: {error}") from None
        connection.row_factory = sqlite3.Row
        ledger = cls(path, connection)
        try:
            ledger._prepare()
        except sqlite3.DatabaseError as error:
            connection.close()
            raise InputError(f"{path} is not a usable bayes_moe ledger: {error}") from None
        except InputError:
            connection.close()
            raise
        return ledger

    def _prepare(self) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        db.execute("PRAGMA synchronous = FULL")
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        with self._transaction():
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version == 0 and not tables:
                db.execute(_SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version > SCHEMA_VERSION:
                raise InputError(f"ledger {self.path} has schema version {version}, newer than this "
                                 f"bayes_moe reads ({SCHEMA_VERSION}); upgrade bayes_moe")
            elif version != SCHEMA_VERSION or "runs" not in tables:
                raise InputError(f"{self.path} is not a bayes_moe ledger (schema version {version}, "
                                 f"tables {sorted(tables)})")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self):
        """A write transaction that takes the write lock at once (``BEGIN IMMEDIATE``), so that what
        it reads cannot change before it writes; rolled back on any error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- reading ----------------------------------------------------------------------------------

    def get(self, run_id: int) -> Run:
        row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise InputError(f"no run with id {run_id!r} in {self.path}")
        return Run._from_row(row)

    def runs(self, status: str | tuple | None = None) -> list[Run]:
        """Runs in id order, all or those with ``status`` (one or a tuple of statuses)."""
        where, params = _status_filter(status)
        return [Run._from_row(row) for row in self._db.execute(f"SELECT * FROM runs{where} ORDER BY id", params)]

    def counts(self) -> dict[str, int]:
        """Number of runs in each status (every status present, zeros included)."""
        found = dict(self._db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall())
        return {status: found.get(status, 0) for status in STATUSES}

    def to_dataset(self, status: str | tuple | None = "done") -> xr.Dataset:
        """The runs as an ``xarray.Dataset`` along dim ``run`` (coordinate: run id): float variables
        r, compute, sparsity, loss, n_active, n_total, tokens and coordinate seed (NaN where unknown);
        coordinates label and executor ('' where none). ``attrs['ledger_fingerprint']`` is the
        ``fingerprint`` of exactly these rows, read in the same query."""
        import xarray as xr  # ~1 s to import: only the model needs this view, not the CLI or executors

        runs = self.runs(status)
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

    def fingerprint(self, status: str | tuple | None = "done") -> str:
        """sha256 (hex) over (id, r, compute, sparsity, loss, n_active, n_total, tokens) of the runs
        with ``status``, in id order: equal fingerprints mean a model sees the same data."""
        return _fingerprint(self.runs(status))

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
            existing = {tuple(row) for row in db.execute(f"SELECT {', '.join(_DUPLICATE_KEY)} FROM runs")}
            for number, line, values in rows:
                if _duplicate_key(values) in existing:
                    raise InputError(f"{path}, data row {number} (line {line}): the same run is already in "
                                     f"the ledger {self.path} (duplicate of an earlier import?)")
            return [self._insert(db, dict(values, executor=IMPORT_EXECUTOR, status="done", created_at=now,
                                          updated_at=now, metrics="{}"))
                    for _, _, values in rows]

    def export_csv(self, path, status: str | tuple | None = None) -> int:
        """Write the runs (all, or those with ``status``) to ``path`` as CSV, atomically (a temporary
        file renamed over ``path``), columns ``EXPORT_COLUMNS``; floats are written exactly. Returns
        the number of runs written. The architecture and metrics JSON stay in the ledger only."""
        path = Path(path)
        if not path.parent.is_dir():
            raise InputError(f"cannot write {path}: no folder {path.parent}")
        runs = self.runs(status)
        handle = tempfile.NamedTemporaryFile("w", newline="", encoding="utf-8", dir=path.parent,
                                             prefix=f".{path.name}.", suffix=".tmp", delete=False)
        try:
            with handle:
                writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
                writer.writeheader()
                for run in runs:
                    writer.writerow({name: _csv_cell(getattr(run, name)) for name in EXPORT_COLUMNS})
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, path)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
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


def create_workspace(workspace, source=None) -> list[int]:
    """Create ``workspace`` with an empty ledger and a ``campaign.toml``, seeded from the campaign folder
    ``source``: its campaign.toml (else a campaign.toml already in the workspace, else the defaults)
    and its runs.csv if there is one. Returns the ids of the imported runs.

    All or nothing: the workspace is built in a hidden folder beside it and moved into place at the
    end, so a bad campaign.toml or runs.csv leaves nothing behind. An existing ledger is never touched.
    """
    workspace = Path(workspace)
    if workspace.exists() and not workspace.is_dir():
        raise InputError(f"workspace {workspace} is a file, not a folder")
    if (workspace / LEDGER_FILE).exists():
        raise InputError(f"{workspace} already has a ledger ({workspace / LEDGER_FILE}); remove it or "
                         f"choose another --workspace")
    if source is not None and not Path(source).is_dir():
        raise InputError(f"--from {source}: no such folder")
    seed_campaign = Path(source) / CAMPAIGN_FILE if source is not None else None
    seed_runs = Path(source) / RUNS_FILE if source is not None else None
    kept_campaign = workspace / CAMPAIGN_FILE
    if kept_campaign.exists() and seed_campaign is not None and seed_campaign.is_file():
        raise InputError(f"{kept_campaign} exists and would be replaced by {seed_campaign}; remove one of them")
    if seed_campaign is not None and seed_campaign.is_file():
        load_campaign(seed_campaign)  # check it before copying it
        campaign_text = seed_campaign.read_text(encoding="utf-8")
    elif kept_campaign.exists():
        load_campaign(kept_campaign)
        campaign_text = None
    else:
        campaign_text = dump_campaign(Campaign())

    workspace.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{workspace.name}.init-", dir=workspace.parent))
    try:
        with Ledger.open(staging, create=True) as ledger:
            ids = ledger.import_csv(seed_runs) if seed_runs is not None and seed_runs.is_file() else []
        if campaign_text is not None:
            (staging / CAMPAIGN_FILE).write_text(campaign_text, encoding="utf-8")
        if workspace.exists():  # an existing folder keeps its other files; the ledger goes in last
            for name in (CAMPAIGN_FILE, LEDGER_FILE):
                if (staging / name).exists():
                    os.replace(staging / name, workspace / name)
        else:
            os.rename(staging, workspace)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ids
