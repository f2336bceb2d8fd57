"""Every notebook executes end to end (fast settings) on a fitted demo workspace, in a kernel of
this environment's Python, and draws its figures: a notebook that breaks fails the suite."""

import os
import sys
from pathlib import Path
from unittest import mock

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

from bayes_moe import model, plots, posterior
from bayes_moe.ledger import Ledger
from bayes_moe.workspace import create_workspace

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FAST = {"BAYES_MOE_FAST": "1"}
FIGURES = {"posterior": 3, "loss_surface": 4, "design": 2}  # figures each notebook draws
TIMEOUT = 300  # seconds per cell


@pytest.fixture(scope="session")
def fitted_demo(tmp_path_factory):
    """A copy of the demo campaign with a quick fit, shared by the notebooks (one fit, not three)."""
    workspace = tmp_path_factory.mktemp("notebooks") / "demo"
    create_workspace(workspace, plots.DEMO)
    with Ledger.open(workspace) as ledger:
        runs = ledger.to_dataset()
    with mock.patch.dict(os.environ, FAST):
        posterior.save(model.fit(runs, **plots.fit_options()), workspace)
    return workspace


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_notebook_executes_and_draws_its_figures(name, fitted_demo, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSPACE", str(fitted_demo))
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    notebook = jupytext.read(NOTEBOOKS / f"{name}.py")
    notebook.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    NotebookClient(notebook, kernel_name="python3", timeout=TIMEOUT,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == FIGURES[name]
    assert outputs[-1]["text"].strip() == sys.executable  # the kernel runs this environment's Python
