"""Every notebook executes end to end (fast settings) on a fitted demo workspace, in a kernel of
this environment's Python, and draws its figures: a notebook that breaks fails the suite.

The notebooks share one kernel (#13 suite time): a kernel's start and its imports of PyMC, torch and
BoTorch cost ~8 s a notebook here. Each notebook still starts from an empty namespace (``%reset -f``
runs first), so one that uses a name it does not define fails as it would in a fresh kernel.
"""

import os
import sys

import jupytext
import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from conftest import REPO

FIGURES = {"posterior": 4, "loss_surface": 4, "design": 2, "scalebench": 3}  # figures each notebook draws
TIMEOUT = 300  # seconds per cell


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """One ``python3`` kernel for the module's notebooks, started in an empty folder, with the notebooks'
    fast settings (were a posterior stale, a notebook would refit it quickly)."""
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(tmp_path_factory.mktemp("notebook-cwd")), env={**os.environ, "BAYES_MOE_FAST": "1"})
    yield manager
    manager.shutdown_kernel(now=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_notebook_executes_and_draws_its_figures(name, kernel, fitted_demo):
    notebook = jupytext.read(REPO / "notebooks" / f"{name}.py")
    # nothing left by an earlier notebook; a workspace of its own
    notebook.cells.insert(0, nbformat.v4.new_code_cell(f"%reset -f\n%env WORKSPACE={fitted_demo}"))
    notebook.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    client = NotebookClient(notebook, km=kernel, timeout=TIMEOUT)
    try:
        client.execute()
    finally:
        if client.kc is not None:
            client.kc.stop_channels()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == FIGURES[name]
    assert outputs[-1]["text"].strip() == sys.executable  # the kernel runs this environment's Python
