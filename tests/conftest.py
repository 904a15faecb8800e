"""Fixtures shared by the test modules."""

import pytest

from smartcity_analysis.config import load_framework


@pytest.fixture(scope="session")
def framework():
    """The project's framework file, read once."""
    return load_framework()
