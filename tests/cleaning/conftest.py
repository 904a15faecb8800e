"""Fixtures shared by the cleaning tests."""

import pytest

from smartcity_analysis.cleaning.parse import Vocabulary, field_specs


@pytest.fixture(scope="module")
def specs(framework):
    """The framework's field specifications."""
    return field_specs(framework)


@pytest.fixture(scope="module")
def vocab(framework):
    """The framework's vocabulary of yes/no and ordinal words."""
    return Vocabulary.from_framework(framework)
