"""The synthetic truth, read in one place.

``data/synthetic/truth/`` holds what really happened in the generated world:
the true survey-to-NPD links (with twins), every difference the generator
put into the parents' reports, the whole sampling frame with the answers
every family would have given, and the coefficients the outcomes were
generated with. Nobody in the story holds it; :mod:`sendlink.evaluate` is
the only package that reads it, through these functions
(``tests/unit/test_architecture.py`` keeps it so).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from sendlink.config import Paths
from sendlink.io import read_table
from sendlink.schema.truth import IDENTIFIER_DIFFERENCES, TRUE_EFFECTS, TRUE_FRAME, TRUE_LINKS

__all__ = ["available", "frame", "has_outcome_truth", "identifier_differences", "planted_effects", "true_links"]


def true_links(paths: Paths, survey_ids: Sequence[str] | pd.Series | None = None) -> pd.DataFrame:
    """``truth/links.parquet``: each responding family's child and its UPN (empty when not in the NPD), and twins.

    With ``survey_ids``, only those children's links (for example the
    children sent for linkage: the only links a linker could find).
    """
    links = read_table(TRUE_LINKS.at(paths))
    if survey_ids is None:
        return links
    wanted = set(pd.Series(survey_ids).astype(str))
    links["survey_id"] = links["survey_id"].astype(str)
    return links[links["survey_id"].isin(wanted)].reset_index(drop=True)


def identifier_differences(paths: Paths) -> pd.DataFrame:
    """``truth/identifier_differences.parquet``: one row per case, field and kind of difference."""
    return read_table(IDENTIFIER_DIFFERENCES.at(paths))


def frame(paths: Paths) -> pd.DataFrame:
    """``truth/frame.parquet``: every frame pupil, with potential answers, latent traits and true outcomes."""
    return read_table(TRUE_FRAME.at(paths))


def planted_effects(paths: Paths) -> pd.DataFrame:
    """``truth/planted_effects.csv``: the coefficients of the models that generated the outcomes."""
    return read_table(TRUE_EFFECTS.at(paths))


def available(paths: Paths) -> bool:
    """Whether the true links are there (a real study has none)."""
    return TRUE_LINKS.at(paths).is_file()


def has_outcome_truth(paths: Paths) -> bool:
    """Whether the frame and the planted effects are there, to check the outcome analysis."""
    return TRUE_FRAME.at(paths).is_file() and TRUE_EFFECTS.at(paths).is_file()
