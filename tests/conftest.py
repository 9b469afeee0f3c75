import os

import pytest

# Two cores in CI: keep each test single-threaded so parallel pieces (decoder threads, DataLoader workers) do not
# oversubscribe the machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def _posetrack_home(tmp_path_factory, monkeypatch):
    """Every test gets its own empty weights cache, so nothing depends on files a user downloaded."""
    monkeypatch.setenv("POSETRACK_HOME", str(tmp_path_factory.mktemp("posetrack_home")))
