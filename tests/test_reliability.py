"""Issue #18's probes of damaged files, read-only workspaces, races and absurd values, one test each.

Every probe ends in one line naming the file and the cause, exit 2 (bad input or a damaged file) or 1 (a fault
of the machine, such as a full disk), and leaves the ledger as it was. Cheap: no fit, a few seconds each.
"""

import csv
import functools
import hashlib
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bayes_moe.cli import main
from conftest import DEMO
from bayes_moe.cli.output import emit
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger

RUNS = "r,compute,sparsity,loss\n0.5,1e18,0.9538,3.2\n1.0,1e18,0.9538,3.1\n2.0,1e19,0.8235,2.9\n"
ONE_RUN = "r,compute,sparsity,loss,label\n0.7,2e18,0.9538,3.0,racer\n"


def one_line(err: str) -> str:
    """The error output, asserted to be one line and no traceback."""
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def fails(run_cli, *argv, code: int = 2, match: str) -> str:
    got, out, err = run_cli(*argv)
    line = one_line(err)
    assert got == code and match in line, (got, line)
    return line


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def command(*argv: str) -> list[str]:
    """``bayes-moe ARGV`` as a process's argv (for Popen: racing and killed processes)."""
    return [sys.executable, "-m", "bayes_moe.cli", *argv]


@pytest.fixture
def ws(tmp_path, run_cli):
    """A workspace with three done runs."""
    (tmp_path / "runs.csv").write_text(RUNS)
    assert run_cli("--workspace", tmp_path / "ws", "init")[0] == 0
    assert run_cli("--workspace", tmp_path / "ws", "import", tmp_path / "runs.csv")[0] == 0
    return tmp_path / "ws"


# --- 1. one line instead of a traceback ----------------------------------------------------------


def test_import_and_export_of_a_directory_are_one_line(ws, tmp_path, run_cli):
    before = digest(ws / "ledger.sqlite")
    fails(run_cli, "--workspace", ws, "import", tmp_path, match="Is a directory")
    fails(run_cli, "--workspace", ws, "export", tmp_path, match="it is a directory, not a regular file")
    assert digest(ws / "ledger.sqlite") == before


def _fake_posterior_file(ws: Path) -> bytes:
    """The bytes of a small, valid posterior.nc (no fit: an InferenceData with the attrs model.fit writes)."""
    az = pytest.importorskip("arviz")
    from bayes_moe import posterior

    idata = az.from_dict(posterior={"x": np.zeros((1, 4))})
    idata.attrs.update(form="power", penalty="asymmetric", pivot=1e18, sparsity_levels=[0.9538], n_runs=3,
                       ledger_fingerprint="", converged=0)
    return posterior.save(idata, ws).read_bytes()


@pytest.mark.parametrize("damage", ["random", "empty", "truncated", "not a posterior"])
def test_a_damaged_posterior_is_one_line_and_status_reports_it(ws, run_cli, damage):
    xr = pytest.importorskip("xarray")
    whole = _fake_posterior_file(ws)
    path = ws / "posterior.nc"
    if damage == "not a posterior":
        xr.Dataset({"x": ("a", [1.0, 2.0])}).to_netcdf(path)
    else:
        path.write_bytes({"random": np.random.default_rng(0).bytes(100_000), "empty": b"",
                          "truncated": whole[: len(whole) // 2]}[damage])
    line = fails(run_cli, "--workspace", ws, "r-star", "--compute", "1e20", "--sparsity", "0.9538",
                 match=str(path))
    assert "rebuild it with `bayes-moe fit`" in line
    code, out, err = run_cli("--workspace", ws, "status")  # the command that says what is wrong
    assert code == 0 and "posterior: UNREADABLE" in out and "bayes-moe fit" in out and err == ""
    code, out, _ = run_cli("--workspace", ws, "status", "--json")
    assert code == 0 and "rebuild it" in json.loads(out)["posterior"]["error"]
    assert run_cli("--workspace", ws, "check")[0] == 2


def _many_runs(path: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["r", "compute", "sparsity", "loss", "label"])
        for i in range(n):
            writer.writerow([rng.uniform(0.1, 4), 10 ** rng.uniform(17, 20), 0.9538, rng.uniform(2, 4), f"run{i}"])
    return path


@pytest.mark.parametrize("page", [2, 4, 6, 9])
def test_random_bytes_over_a_ledger_page_are_one_line_and_check_names_the_lost_runs(tmp_path, run_cli, page):
    ws = tmp_path / "ws"
    assert run_cli("--workspace", ws, "init")[0] == 0
    assert run_cli("--workspace", ws, "import", _many_runs(tmp_path / "many.csv", 600))[0] == 0
    with (ws / "ledger.sqlite").open("r+b") as handle:
        handle.seek((page - 1) * 4096)
        handle.write(np.random.default_rng(page).bytes(4096))
    damaged = digest(ws / "ledger.sqlite")
    for argv in (["status"], ["status", "--json"], ["import", tmp_path / "runs.csv"], ["export", tmp_path / "o.csv"]):
        (tmp_path / "runs.csv").write_text(ONE_RUN)
        line = fails(run_cli, "--workspace", ws, *argv, match="is damaged (")
        assert "`bayes-moe check` says which runs are still readable" in line
    code, out, err = run_cli("--workspace", ws, "check", "--json", "--salvage", tmp_path / "saved.csv")
    report = json.loads(out)["ledger"]
    assert code == 2 and "damaged" in one_line(err) and report["ok"] is False and report["problems"]
    assert report["readable"] + len(report["unreadable_ids"]) == 600 and report["unreadable_ids"]
    with (tmp_path / "saved.csv").open() as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == report["readable"]
    assert digest(ws / "ledger.sqlite") == damaged  # no command wrote to the damaged file


def test_a_damaged_page_no_query_of_status_reads_is_still_reported(tmp_path, run_cli):
    """The page of AUTOINCREMENT's counter: status's queries never read it, but import does."""
    ws = tmp_path / "ws"
    assert run_cli("--workspace", ws, "init", "--from", DEMO)[0] == 0
    with Ledger.open(ws, readonly=True) as ledger:
        page = ledger._read("SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_sequence'")[0][0]
    with (ws / "ledger.sqlite").open("r+b") as handle:
        handle.seek((page - 1) * 4096)
        handle.write(np.random.default_rng(0).bytes(4096))
    (tmp_path / "one.csv").write_text(ONE_RUN)
    for argv in (["status"], ["import", tmp_path / "one.csv"]):
        fails(run_cli, "--workspace", ws, *argv, match="is damaged")
    code, out, _ = run_cli("--workspace", ws, "check")
    assert code == 2 and "DAMAGED" in out


def test_check_passes_a_whole_workspace(ws, run_cli):
    code, out, err = run_cli("--workspace", ws, "check")
    assert code == 0 and err == "" and "ledger: ok: 3 runs readable" in out and "posterior.nc: none" in out


# --- 2. an empty ledger is not a new one; a foreign SQLite file is refused untouched --------------


def test_a_zero_byte_ledger_is_an_error_and_stays_zero_bytes(ws, tmp_path, run_cli):
    (ws / "ledger.sqlite").write_bytes(b"")
    (tmp_path / "more.csv").write_text(ONE_RUN)
    for argv in (["status"], ["import", tmp_path / "more.csv"], ["export", tmp_path / "o.csv"]):
        fails(run_cli, "--workspace", ws, *argv, match="is empty (0 bytes), not a ledger")
    code, out, _ = run_cli("--workspace", ws, "check")
    assert code == 2 and "is empty (0 bytes), not a ledger" in out
    assert (ws / "ledger.sqlite").stat().st_size == 0


@pytest.mark.parametrize("argv", [["status"], ["import", "more.csv"]])
def test_a_foreign_sqlite_file_is_refused_unmodified(tmp_path, run_cli, argv):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "campaign.toml").write_text("[campaign]\nname = 'x'\n")
    (tmp_path / "more.csv").write_text(ONE_RUN)
    with sqlite3.connect(ws / "ledger.sqlite") as foreign:
        foreign.execute("CREATE TABLE notes (text TEXT)")
        foreign.execute("INSERT INTO notes VALUES ('mine')")
    foreign.close()
    before = digest(ws / "ledger.sqlite")
    argv = [tmp_path / a if a.endswith(".csv") else a for a in argv]
    fails(run_cli, "--workspace", ws, *argv, match="is not a bayes_moe ledger (schema version 0, tables ['notes'])")
    assert digest(ws / "ledger.sqlite") == before
    assert sorted(p.name for p in ws.iterdir()) == ["campaign.toml", "ledger.sqlite"]  # no -wal, -shm
    with sqlite3.connect(ws / "ledger.sqlite") as again:
        assert again.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    again.close()


def test_reading_commands_leave_the_workspace_as_it_was(ws, tmp_path, run_cli):
    before = digest(ws / "ledger.sqlite")
    for argv in (["status"], ["status", "--json"], ["export", tmp_path / "o.csv"], ["check"]):
        assert run_cli("--workspace", ws, *argv)[0] == 0
    assert digest(ws / "ledger.sqlite") == before
    assert sorted(p.name for p in ws.iterdir()) == ["campaign.toml", "ledger.sqlite"]  # no -wal, -shm left


def test_a_reader_cannot_write(ws):
    with Ledger.open(ws, readonly=True) as ledger, pytest.raises(InputError, match="cannot write ledger"):
        ledger.add_run(1.0, 1e18, 0.9538)


def test_creating_a_ledger_never_writes_over_one(ws):
    with pytest.raises(InputError, match="exists already"):
        Ledger.open(ws, create=True)
    with Ledger.open(ws) as ledger:
        assert len(ledger.runs()) == 3


# --- 6. read-only workspaces read fine; writing to one is one line --------------------------------


def _as_nobody(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``bayes-moe ARGV`` run as an unprivileged user (root ignores file permissions)."""
    prefix = []
    if os.geteuid() == 0:
        setpriv = "/usr/bin/setpriv"
        if not os.path.exists(setpriv):
            pytest.skip("running as root without setpriv: permissions cannot be tested")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        if not _reachable_by(tuple(prefix)):
            pytest.skip("the checkout or its venv lies in a folder an unprivileged user cannot enter "
                        "(e.g. a mktemp -d parent, mode 0700): permissions cannot be tested from here")
    return subprocess.run(prefix + command(*argv), cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=_NOBODY_ENV)


_NOBODY_ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


@functools.lru_cache(maxsize=1)
def _reachable_by(prefix: tuple) -> bool:
    """Whether the user of ``prefix`` can start this Python and import the package."""
    probe = subprocess.run([*prefix, sys.executable, "-c", "import bayes_moe.cli"], cwd="/", capture_output=True,
                           timeout=120, env=_NOBODY_ENV)
    return probe.returncode == 0


@pytest.fixture
def archived(tmp_path_factory, run_cli):
    """A workspace with its write permission removed (folder 555, files 444), readable by any user."""
    root = tmp_path_factory.mktemp("archive")
    for folder in (root, *root.parents):
        if folder == Path("/tmp") or folder == folder.parent:
            break
        folder.chmod(folder.stat().st_mode | 0o755)  # let an unprivileged user reach it
    ws = root / "ws"
    (root / "runs.csv").write_text(RUNS)
    assert run_cli("--workspace", ws, "init")[0] == 0
    assert run_cli("--workspace", ws, "import", root / "runs.csv")[0] == 0
    (root / "more.csv").write_text(ONE_RUN)
    out = root / "out"
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    for path in ws.iterdir():
        path.chmod(0o444)
    ws.chmod(0o555)
    yield ws
    ws.chmod(0o755)


def test_a_read_only_workspace_can_be_read(archived):
    before = digest(archived / "ledger.sqlite")
    status = _as_nobody(["--workspace", str(archived), "status", "--json"], archived.parent)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["counts"]["done"] == 3
    export = _as_nobody(["--workspace", str(archived), "export", str(archived.parent / "out" / "runs.csv")],
                        archived.parent)
    assert export.returncode == 0, export.stderr
    assert len((archived.parent / "out" / "runs.csv").read_text().splitlines()) == 4
    check = _as_nobody(["--workspace", str(archived), "check"], archived.parent)
    assert check.returncode == 0 and "ledger: ok: 3 runs readable" in check.stdout, check.stderr
    assert digest(archived / "ledger.sqlite") == before
    assert sorted(p.name for p in archived.iterdir()) == ["campaign.toml", "ledger.sqlite"]


def test_importing_into_a_read_only_ledger_is_one_line(archived):
    done = _as_nobody(["--workspace", str(archived), "import", str(archived.parent / "more.csv")], archived.parent)
    line = one_line(done.stderr)
    assert done.returncode == 2 and "cannot write ledger" in line and "not writable" in line, line
    with Ledger.open(archived, readonly=True) as ledger:
        assert len(ledger.runs()) == 3


def test_a_read_only_ledger_in_a_writable_folder_is_one_line(archived):
    archived.chmod(0o755)
    os.chown(archived, 65534, 65534) if os.geteuid() == 0 else None  # the folder is the user's, the file not
    done = _as_nobody(["--workspace", str(archived), "import", str(archived.parent / "more.csv")], archived.parent)
    line = one_line(done.stderr)
    assert done.returncode == 2 and "cannot write ledger" in line, line
    status = _as_nobody(["--workspace", str(archived), "status"], archived.parent)
    assert status.returncode == 0, status.stderr


@pytest.mark.parametrize("error, code", [(PermissionError(13, "Permission denied", "ws/posterior.nc"), 2),
                                         (OSError(28, "No space left on device", "ws/posterior.nc"), 1)])
def test_file_system_errors_anywhere_are_one_line_naming_the_file(monkeypatch, run_cli, error, code):
    """What no module translated itself (posterior.save in `fit`, a checkpoint in `run`) still ends in one line."""
    from bayes_moe.cli import status as commands

    def handler(args):
        raise error

    monkeypatch.setattr(commands, "_cmd_status", handler)
    fails(run_cli, "status", code=code, match=f"bayes-moe status: error: ws/posterior.nc: {error.strerror}")


def test_other_errors_keep_their_traceback(monkeypatch):
    from bayes_moe.cli import status as commands

    def handler(args):
        raise OSError(22, "Invalid argument")  # not the user's permissions nor the machine: a bug

    monkeypatch.setattr(commands, "_cmd_status", handler)
    with pytest.raises(OSError, match="Invalid argument"):
        main(["status"])


# --- 1. a full disk is exit 1 and one line; the data stays safe -----------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 600 kB tmpfs (needs root and the mount syscall; skipped where neither is there)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def _fill(folder: Path, leave: int) -> None:
    """Fill the file system of ``folder`` until ``leave`` bytes are free."""
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    (folder / "filler").write_bytes(b"\0" * max(0, free - leave))


def test_a_full_disk_is_exit_1_and_the_ledger_keeps_its_runs(small_disk, tmp_path, run_cli):
    ws, elsewhere = small_disk / "ws", tmp_path / "elsewhere"
    assert run_cli("--workspace", ws, "init", "--from", DEMO)[0] == 0
    assert run_cli("--workspace", elsewhere, "init", "--from", DEMO)[0] == 0
    _fill(small_disk, leave=16 * 1024)
    many = _many_runs(tmp_path / "many.csv", 5000)
    line = fails(run_cli, "--workspace", ws, "import", many, code=1, match="disk is full")
    assert "a fault of the machine" in line
    fails(run_cli, "--workspace", elsewhere, "export", small_disk / "runs.csv", code=1,
          match="No space left on device")
    assert not (small_disk / "runs.csv").exists()
    assert [p.name for p in small_disk.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    fails(run_cli, "--workspace", small_disk / "ws2", "init", "--from", DEMO, code=1, match="full")
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "ws"]  # no half-made ws2, no staging
    (small_disk / "filler").unlink()
    with Ledger.open(ws, readonly=True) as ledger:
        assert ledger.integrity_problems() == [] and len(ledger.runs()) == 180


# --- 3. init is exclusive; a killed init's leftovers go -------------------------------------------


def test_racing_inits_one_wins_the_others_exit_2(tmp_path):
    racers = [subprocess.Popen(command("--workspace", str(tmp_path / "ws"), "init", "--from", DEMO),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in racers]
    assert sorted(code for code, _ in results) == [0, 2, 2, 2], results
    for code, err in results:
        assert code == 0 or "already has a ledger" in one_line(err)
    with Ledger.open(tmp_path / "ws") as ledger:
        assert len(ledger.runs()) == 180
    assert [p.name for p in tmp_path.iterdir()] == ["ws"]


def test_a_slow_init_never_replaces_a_ledger_that_took_an_import(tmp_path):
    slow_source = tmp_path / "big"
    slow_source.mkdir()
    _many_runs(slow_source / "runs.csv", 10_000)
    (tmp_path / "one.csv").write_text(ONE_RUN)
    ws = str(tmp_path / "ws")
    slow = subprocess.Popen(command("--workspace", ws, "init", "--from", str(slow_source)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    fast = subprocess.run(command("--workspace", ws, "init"), capture_output=True, text=True, timeout=120)
    imported = subprocess.run(command("--workspace", ws, "import", str(tmp_path / "one.csv")),
                              capture_output=True, text=True, timeout=120)
    slow.wait(timeout=120)
    assert sorted([slow.returncode, fast.returncode]) == [0, 2], (slow.stderr.read(), fast.stderr)
    assert imported.returncode == 0, imported.stderr
    with Ledger.open(ws) as ledger:
        labels = [run.label for run in ledger.runs()]
    assert "racer" in labels  # the imported run is never lost
    assert len(labels) in (1, 10_001)


def test_a_killed_init_leaves_no_staging_folder_after_the_next(tmp_path):
    source = tmp_path / "big"
    source.mkdir()
    _many_runs(source / "runs.csv", 20_000)
    ws = tmp_path / "ws"
    victim = subprocess.Popen(command("--workspace", str(ws), "init", "--from", str(source)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".ws.init-*")) and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    victim.kill()
    victim.wait()
    assert not (ws / "ledger.sqlite").exists() or victim.returncode == 0
    done = subprocess.run(command("--workspace", str(ws), "init", "--from", DEMO),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big", "ws"]


# --- 4. export writes to its target, not over it ---------------------------------------------------


def test_export_writes_through_a_symlink_and_keeps_the_mode(ws, tmp_path, run_cli):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    real.chmod(0o664)
    (tmp_path / "link.csv").symlink_to(real)
    assert run_cli("--workspace", ws, "export", tmp_path / "link.csv")[0] == 0
    assert (tmp_path / "link.csv").is_symlink() and real.read_text().startswith("id,status,r,")
    assert stat.S_IMODE(real.stat().st_mode) == 0o664
    umask = os.umask(0o022)
    try:
        assert run_cli("--workspace", ws, "export", tmp_path / "new.csv")[0] == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o644  # as `> new.csv` makes it


@pytest.mark.parametrize("target", ["/dev/null", "/dev/stdout", "/dev/fd/1"])
def test_export_refuses_a_device_or_descriptor(ws, run_cli, target):
    fails(run_cli, "--workspace", ws, "export", target, match=f"cannot write {target}")
    assert os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_export_dash_writes_csv_to_stdout(ws, run_cli):
    code, out, err = run_cli("--workspace", ws, "export", "-")
    assert code == 0 and not Path("-").exists()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [float(row["r"]) for row in rows] == [0.5, 1.0, 2.0]
    assert err.strip() == "exported 3 runs to stdout"


# --- 5. absurd values are refused with the allowed range ------------------------------------------


@pytest.mark.parametrize("argv, match", [
    (["r-star", "--compute", "inf", "--sparsity", "0.9"], "compute must be finite and in (0, 1e+30]"),
    (["r-star", "--compute", "1e400", "--sparsity", "0.9"], "compute must be finite and in (0, 1e+30]"),
    (["r-star", "--compute", "1e40", "--sparsity", "0.9"], "compute must be in (0, 1e+30]"),
    (["r-star", "--compute", "1e20", "--sparsity", "1"], "sparsity must be in [0, 1)"),
    (["add", "--r", "0.8", "--compute", "1e40", "--sparsity", "0.9538"], "compute must be in (0, 1e+30]"),
    (["add", "--r", "1e-9", "--compute", "1e18", "--sparsity", "0.9538"], "r must be in [0.001, 1000]"),
    (["add", "--r", "0.8", "--compute", "10", "--sparsity", "0.9538"], "--compute 10 is outside the campaign's"),
    (["add", "--r", "0.8", "--compute", "10", "--sparsity", "0.9538", "--force"], "a run needs at least one sequence"),
    (["add", "--r", "0.8", "--compute", "1e21", "--sparsity", "0.9538"], "pass --force to record the run anyway"),
    (["add", "--r", "8", "--compute", "1e18", "--sparsity", "0.9538"], "--r 8 is outside the campaign's [space]"),
    (["add", "--r", "0.8", "--compute", "1e18", "--sparsity", "0.5"], "not one of the sparsities"),
    (["arch", "--r", "1", "--c-token", "1e30", "--sparsity", "0.9538", "--layers", "8", "--heads", "8",
      "--d-model", "512"], "widths too large"),
    (["arch", "--r", "1", "--c-token", "1e9", "--sparsity", "0.9538", "--layers", "8", "--heads", "8",
      "--d-model", "1"], "d_model must be >= 8, got 1"),
    (["arch", "--r", "1", "--c-token", "nan", "--sparsity", "0.9538", "--preset", "20M"], "must be finite and > 0"),
    (["arch", "--r", "1", "--sparsity", "0.9538", "--preset", "20M", "--layers", "0"], "must be finite and > 0"),
    (["fit", "--draws", "0", "--if-stale"], "argument --draws: must be finite and > 0, got '0'"),
    (["benchmark-scalebench", "--task", "moe", "--final-starts", "-1"], "argument --final-starts: must be finite and >= 0, got '-1'"),
])
def test_absurd_values_are_refused_and_nothing_is_recorded(ws, run_cli, argv, match):
    fails(run_cli, "--workspace", ws, *argv, match=match)
    with Ledger.open(ws) as ledger:
        assert len(ledger.runs()) == 3


def test_add_force_records_a_run_outside_the_space(ws, run_cli):
    code, out, _ = run_cli("--workspace", ws, "add", "--r", "0.8", "--compute", "1e21", "--sparsity", "0.9538",
                       "--force", "--json")
    assert code == 0 and json.loads(out)["compute"] == 1e21


def test_json_output_is_valid_with_non_finite_values(capsys):
    class Args:
        json = True

    emit(Args(), [{"median": float("nan"), "upper": float("inf"), "n": 3}], "unused")
    out = capsys.readouterr().out
    assert json.loads(out) == [{"median": None, "upper": None, "n": 3,
                                "non_finite": {"median": "nan", "upper": "inf"}}]
    assert "NaN" not in out and "Infinity" not in out


def test_r_star_warns_beyond_the_runs_and_the_targets(ws, capsys):
    from bayes_moe.cli.r_star import _warn_extrapolation

    _warn_extrapolation([1e20, 1e21], [1e17, 1e19], ws)  # the default campaign's targets are at 1e21
    assert capsys.readouterr().err == ""
    _warn_extrapolation([1e40, 1e15], [1e17, 1e19], ws)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert "C=1e+15 lies 2.0 decades below the runs (1e+17 FLOPs)" in err[0]
    assert "C=1e+40 lies 19.0 decades above the runs and targets (1e+21 FLOPs)" in err[1]


@pytest.mark.slow  # needs the session's fitted demo
def test_r_star_warns_when_it_extrapolates_and_its_json_stays_valid(fitted_demo, run_cli):
    code, out, err = run_cli("--workspace", fitted_demo, "r-star", "--compute", "1e25", "--sparsity", "0.9538",
                             "--json")
    assert code == 0 and json.loads(out)["compute"] == 1e25
    assert "C=1e+25 lies 4.0 decades above the runs and targets (1e+21 FLOPs)" in err
    code, _, err = run_cli("--workspace", fitted_demo, "r-star", "--targets")
    assert code == 0 and "decades" not in err  # the targets are what the campaign is for


# --- 7. a workspace needs its campaign ------------------------------------------------------------


@pytest.mark.parametrize("damage, match", [("missing", "no campaign.toml in workspace"),
                                           ("empty", "campaign.toml is empty (0 bytes)")])
def test_a_missing_or_empty_campaign_is_an_error_not_the_default(ws, run_cli, damage, match):
    if damage == "missing":
        (ws / "campaign.toml").unlink()
    else:
        (ws / "campaign.toml").write_text("")
    for argv in (["status"], ["add", "--r", "1", "--compute", "1e18", "--sparsity", "0.9538"],
                 ["r-star", "--targets"]):
        fails(run_cli, "--workspace", ws, *argv, match=match)
