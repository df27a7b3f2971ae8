"""Every example in a docstring runs, and shows what it says (doctest)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import sendlink


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(sendlink.__path__, "sendlink."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        if doctest.DocTestFinder().find(module) and any(t.examples for t in doctest.DocTestFinder().find(module)):
            names.append(info.name)
    return names


MODULES = _modules_with_examples()


def test_there_are_examples_to_run():
    assert len(MODULES) >= 5, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    for test in doctest.DocTestFinder().find(module):
        for example in test.examples:
            assert not example.options.get(doctest.SKIP), f"{test.name}: an example that is skipped is not an example; run it or remove it"
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (run `python -m doctest -v` on it)"
