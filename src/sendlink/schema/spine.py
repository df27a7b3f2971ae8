"""The linkage spine contract (docs/DESIGN.md section 4) and the links it produces.

The survey organisation sends DfE a *survey spine*; DfE matches it to the
*NPD spine*. Both carry the same identifier columns after their key. Every
column but the key may be empty or absent: the linker copes, and is simply
less sure with fewer fields. These contracts are therefore lenient (not
strict, optional columns not required); the linker checks the key itself.
"""

from __future__ import annotations

import pandera.pandas as pa

from sendlink.schema.base import ISO_DATE, column, table

#: The identifier columns shared by both spines, after the key.
IDENTIFIER_COLUMNS = (
    "forename",
    "middle_names",
    "surname",
    "date_of_birth",
    "sex",
    "postcode",
    "school_urn",
)

SURVEY_KEY = "survey_id"
NPD_KEY = "upn"

#: Values of ``link_status`` in the links file.
LINK_STATUSES = {
    "matched": "linked: the model is confident (probability at or above the match threshold)",
    "clerical_review": "uncertain: sent to a person for review; not linked until they decide",
    "unmatched": "no NPD record found with enough evidence; upn is empty",
}


def _identifier_columns() -> dict[str, pa.Column]:
    return {
        "forename": column(str, "First given name, as recorded", source="identifier", missing="empty: not given", required=False),
        "middle_names": column(str, "Other given names, space-separated", source="identifier", missing="empty: none or not given", required=False),
        "surname": column(str, "Family name, as recorded (may be double-barrelled)", source="identifier", missing="empty: not given", required=False),
        "date_of_birth": column(
            str,
            "Date of birth, ISO YYYY-MM-DD",
            source="identifier",
            missing="empty: not given",
            required=False,
            checks=[pa.Check.str_matches(ISO_DATE)],
        ),
        "sex": column(str, "Sex as recorded", source="identifier", codes={"F": "female", "M": "male"}, missing="empty: not recorded", required=False),
        "postcode": column(str, "UK postcode of the home address", source="identifier", missing="empty: not given", required=False),
        "school_urn": column(str, "Unique reference number of the school attended", source="identifier", missing="empty: not given", required=False),
    }


SURVEY_SPINE = table(
    "survey_spine",
    {SURVEY_KEY: column(str, "Survey case identifier", source="identifier", unique=True), **_identifier_columns()},
    description="The child's identifiers as the survey organisation holds them, sent to DfE for linkage (no answers).",
    holder="survey_organisation",
    path="data/linkage/incoming/survey_spine.parquet",
    key=(SURVEY_KEY,),
    strict=False,
)

NPD_SPINE = table(
    "npd_spine",
    {NPD_KEY: column(str, "Unique Pupil Number (13 characters, stays with the pupil)", source="identifier", unique=True), **_identifier_columns()},
    description="The NPD's identifier spine: one row per pupil, latest recorded identifiers.",
    holder="dfe",
    path="data/synthetic/npd/spine.parquet",
    key=(NPD_KEY,),
    strict=False,
)

LINKS = table(
    "links",
    {
        SURVEY_KEY: column(str, "Survey case identifier", source="identifier", unique=True),
        NPD_KEY: column(str, "UPN of the linked NPD record", source="identifier", missing="empty: unmatched"),
        "match_probability": column(
            float,
            "Posterior probability that the pair is a match under the Fellegi-Sunter model",
            checks=[pa.Check.in_range(0.0, 1.0)],
            missing="empty: no candidate pair",
        ),
        "match_weight": column(float, "Sum of log2 Bayes factors of the compared fields (with the prior)", missing="empty: no candidate pair"),
        "link_status": column(str, "The linkage decision", codes=LINK_STATUSES),
    },
    description="One row per survey record: the best one-to-one NPD match and the decision.",
    holder="dfe",
    path="data/linkage/links.parquet",
    key=(SURVEY_KEY,),
)

#: The optional ``--history`` input of ``sendlink link`` (:mod:`sendlink.link.history`): not a
#: file of the pipeline (its link stage builds the same table from the NPD's ``postcode_history``
#: and ``census``), so the dictionary lists it among the command's inputs, not under a folder.
NPD_HISTORY = table(
    "npd_history",
    {
        NPD_KEY: column(str, "Unique Pupil Number of an NPD spine record (rows of pupils not in the spine are ignored)", source="identifier"),
        "academic_year": column(str, "The census's academic year (2021/22 or 2022); give this, census_year or census_date", source="derived",
                                missing="absent: census_year or census_date given instead", required=False),
        "census_date": column(str, "The census date, ISO YYYY-MM-DD", source="derived", missing="absent: another census column given", required=False),
        "census_year": column(str, "The census's year", source="derived", missing="absent: another census column given", required=False),
        "postcode": column(str, "The pupil's home postcode at that census", source="identifier",
                           missing="empty: not recorded (the column may be absent if school_urn is given)", required=False),
        "school_urn": column(str, "The pupil's school at that census", source="identifier",
                             missing="empty: not recorded (the column may be absent if postcode is given)", required=False),
    },
    description=("Optional input of `sendlink link SURVEY NPD --history NPD_HISTORY --out LINKS` (CSV or Parquet): one row per pupil "
                 "and census. Censuses up to `linkage.history.window_years` (5) before the pupil's latest are compared with the "
                 "survey's postcode and school (levels `postcode_history`, `school_history`); without it the linker behaves as "
                 "without those levels. Other columns are ignored."),
    holder="dfe",
    path="sendlink link --history NPD_HISTORY",
    strict=False,
)
#: Inputs of the linker given on the command line (the data dictionary lists them after the files).
COMMAND_INPUTS = (NPD_HISTORY,)
