"""Every notebook executes end to end (fast settings) on a fitted demo workspace, in a kernel of
this environment's Python, and draws its figures: a notebook that breaks fails the suite."""

import sys

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO

FIGURES = {"posterior": 4, "loss_surface": 4, "design": 2}  # figures each notebook draws
TIMEOUT = 300  # seconds per cell


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_notebook_executes_and_draws_its_figures(name, fitted_demo, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSPACE", str(fitted_demo))
    monkeypatch.setenv("BAYES_MOE_FAST", "1")  # were the posterior stale, the notebook would refit quickly
    notebook = jupytext.read(REPO / "notebooks" / f"{name}.py")
    notebook.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    NotebookClient(notebook, kernel_name="python3", timeout=TIMEOUT,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == FIGURES[name]
    assert outputs[-1]["text"].strip() == sys.executable  # the kernel runs this environment's Python
