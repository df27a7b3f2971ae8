"""Contracts and catalogue entries of the truth folder (``data/synthetic/truth/``).

Nobody in the story holds these: they exist so evaluation code can check
linkage and analysis against what really happened. The generator writes
them; :mod:`sendlink.evaluate` is the only package that reads them, and the
only one (with the generator and the schema itself) that may import this
module: ``tests/unit/test_architecture.py`` enforces the boundary.
"""

from __future__ import annotations

from sendlink.schema.base import column, table
from sendlink.schema.catalogue import File

LINKS = table(
    "true_links",
    {
        "survey_id": column(str, "Survey case (wave-1 responding household)", source="identifier", unique=True),
        "upn": column(str, "The child's true UPN", missing="empty: the child is not in the NPD (independent special school)", source="identifier"),
        "in_npd": column(bool, "The child has an NPD record", source="design"),
        "twin": column(bool, "The child has a twin in the NPD (same surname, date of birth, address)", source="assumed"),
    },
    description="The true survey-to-NPD links.",
    holder="truth", path="data/synthetic/truth/links.parquet", key=("survey_id",),
)

DIFFERENCES = table(
    "identifier_differences",
    {
        "survey_id": column(str, "Survey case", source="identifier"),
        "field": column(str, "Field that differs", codes={f: f for f in ("forename", "middle_names", "surname", "names", "date_of_birth", "postcode", "sex", "school_urn")}, source="design"),
        "difference": column(str, "Kind of difference (see sendlink.synth.corrupt)", source="assumed"),
    },
    description="Every difference between the parent's report and the NPD, one row per case, field and kind.",
    holder="truth", path="data/synthetic/truth/identifier_differences.parquet", key=("survey_id", "field", "difference"),
)

FRAME = table(
    "frame",
    {
        "upn": column(str, "UPN of the frame pupil", source="identifier", unique=True),
        "survey_id": column(str, "Survey case if sampled", missing="empty: not sampled", source="identifier"),
        "provision": column(str, "SEN provision in spring 2022", codes={"E": "EHC plan", "K": "SEN support"}, source="design"),
        "unmet_need_w1": column(bool, "Potential wave-1 answer: unmet need", source="assumed"),
        "satisfaction_w1": column(int, "Potential wave-1 answer: satisfaction with support (1-5)", source="assumed"),
        "school_experience_std": column(float, "Latent: how well school suits the child (standardised); drives consent and outcomes", source="assumed"),
        "persistent_absence_y10": column("boolean", "True outcome: persistent absence in Year 10 (10% or more of the year's sessions missed)", missing="empty: not in state school both years", source="derived"),
        "persistent_absence_y11": column("boolean", "True outcome: persistent absence in Year 11", missing="empty: not in state school both years", source="derived"),
        "persistent_absence_years": column("Int64", "True outcome: years (0-2) persistently absent in Years 10-11", missing="empty: not in state school both years", source="derived"),
        "suspensions_y10_11": column("Int64", "True outcome: suspensions over Years 10-11", missing="empty: not in state school both years", source="derived"),
        "wellbeing_w2": column(int, "Potential wave-2 answer: life satisfaction 0-10", source="derived"),
        "potential_eyfsp_total_points": column(int, "EYFSP total the pupil would have had if assessed (recorded in the NPD only if on roll in Reception)", source="assumed"),
        "potential_phonics_mark": column(int, "Phonics mark the pupil would have had if assessed", source="assumed"),
        "potential_ks1_reading": column(str, "KS1 reading the pupil would have had if assessed", source="assumed"),
        "potential_ks1_writing": column(str, "KS1 writing the pupil would have had if assessed", source="assumed"),
        "potential_ks1_maths": column(str, "KS1 maths the pupil would have had if assessed", source="assumed"),
    },
    description="Every frame pupil (SEN, cohort, spring 2022) with potential answers, latent traits and true outcomes, for census values of the planted effects.",
    holder="truth", path="data/synthetic/truth/frame.parquet", key=("upn",), strict=False,
)

PLANTED_EFFECTS = table(
    "planted_effects",
    {
        "effect": column(str, "Effect name, outcome:exposure", source="design", unique=True),
        "outcome": column(str, "Outcome", source="design"),
        "outcome_label": column(str, "Outcome in words", source="design"),
        "exposure": column(str, "Exposure", source="design"),
        "exposure_label": column(str, "Exposure in words", source="design"),
        "scale": column(str, "Scale of the coefficient", codes={"log-odds": "logistic", "log-rate": "log-linear count", "points": "linear"}, source="design"),
        "generating_value": column(float, "Coefficient in the generating model (params.yaml synth.outcomes)", source="assumed"),
    },
    description="The planted effects: coefficients of the models that generated the outcomes.",
    holder="truth", path="data/synthetic/truth/planted_effects.csv", key=("effect",),
)

#: The truth files, as catalogue entries (see :mod:`sendlink.schema.catalogue`).
TRUE_LINKS = File.of(LINKS)
IDENTIFIER_DIFFERENCES = File.of(DIFFERENCES)
TRUE_FRAME = File.of(FRAME)
TRUE_EFFECTS = File.of(PLANTED_EFFECTS)
FILES = (TRUE_LINKS, IDENTIFIER_DIFFERENCES, TRUE_FRAME, TRUE_EFFECTS)


def scale_truth(size: int) -> tuple[File, File]:
    """The true links and identifier differences of a scale-mode survey of ``size`` children."""
    return (
        File(f"data/synthetic/truth/links_{size}.parquet", "truth", f"True links of the {size}-child scale survey.", LINKS),
        File(f"data/synthetic/truth/identifier_differences_{size}.parquet", "truth", f"Identifier differences of the {size}-child scale survey.", DIFFERENCES),
    )
