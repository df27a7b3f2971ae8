from __future__ import annotations

import pytest
from _consentdata import write_project

from sendlink.config import Paths
from tests.conftest import TEST_REGISTER_KEY


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A fixture project root with the hand-written survey world; SENDLINK_ROOT points at it."""
    root = write_project(tmp_path / "project")
    monkeypatch.setenv("SENDLINK_ROOT", str(root))
    monkeypatch.setenv("SENDLINK_TEST_REGISTER_KEY", TEST_REGISTER_KEY)
    return Paths(root)
