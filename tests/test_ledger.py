"""The runs ledger: lifecycle, validation, CSV round trips, the xarray view and the fingerprint."""

import math
import sqlite3

import numpy as np
import pytest

from bayes_moe.errors import InputError
from bayes_moe.ledger import EXPORT_COLUMNS, LEDGER_FILE, SCHEMA_VERSION, Ledger

HEADER = "r,compute,sparsity,loss,n_active,n_total,tokens,seed,label\n"
GOOD_ROWS = ["0.5,1e18,0.9538,3.2,1000,20000,5e8,0,a\n", "1.0,1e18,0.9538,3.1,,,,,\n", "2.0,1e19,0.8235,2.9,,,,1,c\n"]


@pytest.fixture
def ledger(tmp_path):
    with Ledger.open(tmp_path / "ws", create=True) as opened:
        yield opened


def write(path, text):
    path.write_text(text)
    return path


def good_csv(tmp_path, name="runs.csv"):
    return write(tmp_path / name, HEADER + "".join(GOOD_ROWS))


# --- opening ----------------------------------------------------------------------------------------


def test_open_missing_ledger_says_how_to_create_it(tmp_path):
    with pytest.raises(InputError, match=r"no ledger at .*ws.*bayes-moe init"):
        Ledger.open(tmp_path / "ws")
    assert not (tmp_path / "ws").exists()


def test_new_ledger_is_wal_with_schema_version(ledger):
    db = sqlite3.connect(ledger.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_refused_naming_the_file(tmp_path, ledger):
    ledger.close()
    db = sqlite3.connect(ledger.path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(InputError, match=rf"{LEDGER_FILE} has schema version {SCHEMA_VERSION + 1}, newer"):
        Ledger.open(tmp_path / "ws")


@pytest.mark.parametrize("content", [b"not a database at all" * 100, None])
def test_foreign_file_is_refused(tmp_path, content):
    (tmp_path / "ws").mkdir()
    path = tmp_path / "ws" / LEDGER_FILE
    if content is None:  # a SQLite database of something else
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE other (x)")
        db.commit()
        db.close()
    else:
        path.write_bytes(content)
    with pytest.raises(InputError, match=r"ledger"):
        Ledger.open(tmp_path / "ws")


# --- lifecycle --------------------------------------------------------------------------------------


def test_lifecycle_proposed_running_done(ledger):
    run_id = ledger.add_run(0.8, 1e19, 0.9538, arch={"d_model": 640}, tokens=1e9, n_active=10, n_total=100,
                            seed=3, label="hand", metrics={"requested_r": 0.79})
    proposed = ledger.get(run_id)
    assert (proposed.status, proposed.arch, proposed.executor, proposed.loss) == ("proposed", {"d_model": 640}, None, None)
    running = ledger.start(run_id, "simulator")
    assert (running.status, running.executor) == ("running", "simulator")
    done = ledger.finish(run_id, 2.75, tokens=9.9e8, metrics={"wall_s": 12.0})
    assert (done.status, done.loss, done.tokens) == ("done", 2.75, 9.9e8)
    assert done.metrics == {"requested_r": 0.79, "wall_s": 12.0}
    assert done.updated_at >= done.created_at
    assert [run.id for run in ledger.runs("done")] == [run_id]


def test_failed_run_keeps_its_reason(ledger):
    run_id = ledger.add_run(0.8, 1e19, 0.9538)
    ledger.start(run_id, "trainer")
    failed = ledger.fail(run_id, "CUDA out of memory")
    assert (failed.status, failed.reason, failed.loss) == ("failed", "CUDA out of memory", None)
    assert ledger.counts() == {"proposed": 0, "running": 0, "done": 0, "failed": 1}


@pytest.mark.parametrize("status_before, move", [
    ("proposed", lambda l, i: l.finish(i, 3.0)),
    ("proposed", lambda l, i: l.fail(i, "x")),
    ("running", lambda l, i: l.start(i, "again")),
    ("done", lambda l, i: l.start(i, "again")),
    ("done", lambda l, i: l.finish(i, 2.0)),
    ("done", lambda l, i: l.fail(i, "late")),
])
def test_wrong_transition_is_refused_and_row_unchanged(ledger, status_before, move):
    run_id = ledger.add_run(0.8, 1e19, 0.9538)
    if status_before != "proposed":
        ledger.start(run_id, "trainer")
    if status_before == "done":
        ledger.finish(run_id, 3.0)
    before = ledger.get(run_id)
    with pytest.raises(InputError, match=rf"run {run_id} is '{status_before}'"):
        move(ledger, run_id)
    assert ledger.get(run_id) == before


def test_second_process_loses_the_race_to_start(tmp_path, ledger):
    run_id = ledger.add_run(0.8, 1e19, 0.9538)
    with Ledger.open(tmp_path / "ws") as other:
        other.start(run_id, "worker-1")
    with pytest.raises(InputError, match="is 'running', not 'proposed'"):
        ledger.start(run_id, "worker-2")
    assert ledger.get(run_id).executor == "worker-1"


def test_unknown_run_id(ledger):
    with pytest.raises(InputError, match="no run with id 42"):
        ledger.start(42, "trainer")


@pytest.mark.parametrize("kwargs, message", [
    (dict(r=0.0), r"r must be in \[0.001, 1000\]"),
    (dict(r=math.nan), "r must be finite"),
    (dict(compute=-1e18), r"compute must be in \(0, 1e\+30\]"),
    (dict(sparsity=1.0), r"sparsity must be in \[0, 1\)"),
    (dict(sparsity="0.5"), "sparsity must be a number"),
    (dict(tokens=0), "tokens must be > 0"),
    (dict(n_active=10, n_total=5), r"n_active \(10\) must be <= n_total \(5\)"),
    (dict(n_active=2.5), "n_active must be an integer"),
    (dict(seed=-1), "seed must be >= 0"),
    (dict(arch={"x": math.inf}), "arch is not JSON-serialisable"),
    (dict(metrics=[1]), "metrics must be a dict"),
])
def test_add_run_rejects_bad_values_and_writes_nothing(ledger, kwargs, message):
    args = dict(r=1.0, compute=1e18, sparsity=0.9) | kwargs
    with pytest.raises(InputError, match=message):
        ledger.add_run(args.pop("r"), args.pop("compute"), args.pop("sparsity"), **args)
    assert ledger.runs() == []


@pytest.mark.parametrize("loss", [0.0, -1.0, math.nan, math.inf, None])
def test_finish_rejects_bad_loss(ledger, loss):
    run_id = ledger.add_run(0.8, 1e19, 0.9538)
    ledger.start(run_id, "trainer")
    with pytest.raises(InputError, match="loss must be"):
        ledger.finish(run_id, loss)
    assert ledger.get(run_id).status == "running"


# --- the xarray view and the fingerprint ------------------------------------------------------------


def test_dataset_view_of_done_runs(tmp_path, ledger):
    imported = ledger.import_csv(good_csv(tmp_path))
    pending = ledger.add_run(0.3, 1e17, 0.9091)
    ds = ledger.to_dataset()
    assert list(ds["run"].values) == imported and pending not in ds["run"]
    assert ds.sizes == {"run": 3}
    np.testing.assert_array_equal(ds["r"], [0.5, 1.0, 2.0])
    np.testing.assert_array_equal(ds["loss"], [3.2, 3.1, 2.9])
    np.testing.assert_array_equal(ds["n_active"], [1000, np.nan, np.nan])
    np.testing.assert_array_equal(ds["seed"], [0, np.nan, 1])
    assert list(ds["label"].values) == ["a", "", "c"]
    assert all(ds[name].dtype == np.float64 for name in ("r", "compute", "sparsity", "loss", "n_active",
                                                         "n_total", "tokens"))
    assert ds.attrs["ledger_fingerprint"] == ledger.fingerprint()
    assert ledger.to_dataset(("proposed",))["run"].values.tolist() == [pending]


def test_empty_view(ledger):
    ds = ledger.to_dataset()
    assert ds.sizes == {"run": 0} and "loss" in ds


def test_fingerprint_changes_when_a_run_finishes_only(ledger):
    run_id = ledger.add_run(0.8, 1e19, 0.9538)
    empty = ledger.fingerprint()
    ledger.start(run_id, "trainer")
    assert ledger.fingerprint() == empty  # proposed/running runs are not fitted on
    ledger.finish(run_id, 3.0)
    assert ledger.fingerprint() != empty
    assert len(ledger.fingerprint()) == 64


def test_unknown_status_filter(ledger):
    with pytest.raises(InputError, match="unknown status"):
        ledger.runs("finished")


# --- CSV import ---------------------------------------------------------------------------------------


def test_import_marks_rows_done_by_import(tmp_path, ledger):
    ids = ledger.import_csv(good_csv(tmp_path))
    runs = ledger.runs()
    assert [run.id for run in runs] == ids
    assert {(run.status, run.executor) for run in runs} == {("done", "import")}
    assert (runs[0].n_active, runs[0].n_total, runs[0].tokens, runs[0].seed, runs[0].label) == (1000, 20000, 5e8, 0, "a")
    assert (runs[1].n_active, runs[1].seed, runs[1].label) == (None, None, None)


def test_import_takes_only_required_columns_in_any_order(tmp_path, ledger):
    path = write(tmp_path / "min.csv", "loss,sparsity,compute,r\n3.0,0.5,1e18,1\n\n")
    [run_id] = ledger.import_csv(path)
    assert (ledger.get(run_id).r, ledger.get(run_id).loss) == (1.0, 3.0)


BAD_ROWS = [
    ("0,1e18,0.9,3.0,,,,,", r"'r': r must be in \[0.001, 1000\] \(C_E / C_A\), got 0.0"),
    ("abc,1e18,0.9,3.0,,,,,", "'r': r must be a number, got 'abc'"),
    ("1,-5,0.9,3.0,,,,,", r"'compute': compute must be in \(0, 1e\+30\]"),
    ("1,1e18,1.0,3.0,,,,,", r"'sparsity': sparsity must be in \[0, 1\), got 1.0"),
    ("1,1e18,-0.1,3.0,,,,,", "'sparsity': sparsity must be in"),
    ("1,1e18,0.9,nan,,,,,", r"'loss': loss must be finite and > 0 \(nats\), got nan"),
    ("1,1e18,0.9,inf,,,,,", r"'loss': loss must be finite and > 0 \(nats\), got inf"),
    ("1,1e18,0.9,0,,,,,", "'loss': loss must be > 0"),
    ("1,1e18,0.9,,,,,,", "'loss': value is empty; loss is required"),
    ("1,1e18,0.9,3.0,100,10,,,", r"columns 'n_active', 'n_total': n_active \(100\) must be <= n_total \(10\)"),
    ("1,1e18,0.9,3.0,1.5,10,,,", "'n_active': n_active must be an integer, got 1.5"),
    ("1,1e18,0.9,3.0,,,0,,", "'tokens': tokens must be > 0"),
    ("1,1e18,0.9,3.0,,,,-2,", "'seed': seed must be >= 0"),
    ("1,1e18,0.9,3.0,,,,,x,extra", "has 10 fields, the header has 9"),
    ("1,1e18,0.9", "has 3 fields, the header has 9"),
]


@pytest.mark.parametrize("row, message", BAD_ROWS)
def test_bad_row_names_file_row_line_column_value_and_writes_nothing(tmp_path, ledger, row, message):
    path = write(tmp_path / "bad.csv", HEADER + GOOD_ROWS[0] + GOOD_ROWS[1] + row + "\n" + GOOD_ROWS[2])
    with pytest.raises(InputError, match=rf"bad\.csv, data row 3 \(line 4\).*{message}"):
        ledger.import_csv(path)
    assert ledger.runs() == []


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    (HEADER, "has a header but no data rows"),
    ("r,compute,sparsity\n1,1e18,0.5\n", "missing required column.*'loss'"),
    ("r,compute,sparsity,loss,lr,notes\n1,1e18,0.5,3,1e-3,x\n", "unknown column.*'lr', 'notes'"),
    ("r,compute,sparsity,loss,r\n1,1e18,0.5,3,1\n", "'r' appear more than once"),
])
def test_bad_file_structure(tmp_path, ledger, text, message):
    with pytest.raises(InputError, match=rf"bad\.csv.*{message}"):
        ledger.import_csv(write(tmp_path / "bad.csv", text))


def test_missing_and_undecodable_files(tmp_path, ledger):
    with pytest.raises(InputError, match="no such file.*nope.csv"):
        ledger.import_csv(tmp_path / "nope.csv")
    (tmp_path / "latin.csv").write_bytes(HEADER.encode() + b"1,1e18,0.5,3,,,,,caf\xe9\n")
    with pytest.raises(InputError, match="latin.csv is not a readable CSV"):
        ledger.import_csv(tmp_path / "latin.csv")


def test_duplicate_row_within_file(tmp_path, ledger):
    path = write(tmp_path / "dup.csv", HEADER + GOOD_ROWS[0] + GOOD_ROWS[1] + GOOD_ROWS[0])
    with pytest.raises(InputError, match=r"dup\.csv, data row 3 \(line 4\) repeats data row 1"):
        ledger.import_csv(path)
    assert ledger.runs() == []


def test_same_run_with_another_seed_is_not_a_duplicate(tmp_path, ledger):
    path = write(tmp_path / "seeds.csv", HEADER + "1,1e18,0.5,3,,,,0,\n1,1e18,0.5,3,,,,1,\n")
    assert len(ledger.import_csv(path)) == 2


def test_reimport_is_refused_as_duplicate(tmp_path, ledger):
    path = good_csv(tmp_path)
    ledger.import_csv(path)
    with pytest.raises(InputError, match=r"runs\.csv, data row 1 \(line 2\): the same run is already in the ledger"):
        ledger.import_csv(path)
    assert len(ledger.runs()) == 3


def test_import_refuses_unmeasured_exported_rows(tmp_path, ledger):
    ledger.add_run(0.8, 1e19, 0.9538)
    ledger.export_csv(tmp_path / "all.csv")
    with Ledger.open(tmp_path / "fresh", create=True) as fresh:
        with pytest.raises(InputError, match=r"data row 1 \(line 2\), column 'status': 'proposed'; only measured"):
            fresh.import_csv(tmp_path / "all.csv")


# --- export and round trip ------------------------------------------------------------------------------


def test_export_import_round_trip_into_fresh_ledger(tmp_path, ledger):
    ledger.import_csv(good_csv(tmp_path))
    run_id = ledger.add_run(0.7, 3.3e18, 0.9767, tokens=1 / 3 * 1e9, n_active=123, n_total=4567, seed=9, label="x,y")
    ledger.start(run_id, "trainer")
    ledger.finish(run_id, 2.0 + 1e-12)
    assert ledger.export_csv(tmp_path / "out.csv", status="done") == 4
    header = (tmp_path / "out.csv").read_text().splitlines()[0]
    assert header.split(",") == list(EXPORT_COLUMNS)
    with Ledger.open(tmp_path / "fresh", create=True) as fresh:
        fresh.import_csv(tmp_path / "out.csv")
        assert fresh.fingerprint() == ledger.fingerprint()  # same ids and exactly the same numbers
        assert fresh.to_dataset().equals(ledger.to_dataset().assign_coords(
            executor=("run", ["import"] * 4)))


def test_export_is_atomic_and_replaces(tmp_path, ledger):
    target = write(tmp_path / "out.csv", "old content\n")
    ledger.import_csv(good_csv(tmp_path))
    ledger.export_csv(target)
    assert target.read_text().startswith("id,status,r,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "runs.csv", "ws"]  # no temp file left
    with pytest.raises(InputError, match="no folder"):
        ledger.export_csv(tmp_path / "missing" / "out.csv")
