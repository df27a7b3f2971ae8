"""Evaluation against the synthetic truth: the only package that reads ``data/synthetic/truth/``.

Nobody in the story holds the truth; it exists because the data are
synthetic, so that linkage error and the analysis's bias can be measured
instead of assumed. Everything that reads it is here, and
``tests/unit/test_architecture.py`` checks that nothing else does (the
generator writes it; tests and benchmarks may read it).

Modules
-------
:mod:`~sendlink.evaluate.truth`
    The truth files, read in one place.
:mod:`~sendlink.evaluate.linkage`
    Linkage quality (GUILD-style): precision, recall, missed and false
    matches by kind of identifier difference and by subgroup, baselines,
    the threshold trade-off.
:mod:`~sendlink.evaluate.blocking`
    Blocking recall, overall and per pass.
:mod:`~sendlink.evaluate.outcomes`
    The outcome estimates against census and generating values; false
    matches and their effect on the estimates.
:mod:`~sendlink.evaluate.tables`
    Teaching tables that need the truth (notebooks 1, 3 and 4).
:mod:`~sendlink.evaluate.stage`
    The pipeline stage ``evaluate`` (after ``analyse``): ``run(paths, params)``.
"""
