"""Contracts for the NPD tables DfE holds (``data/synthetic/npd/``).

Codes follow the NPD's: SEN provision E/K/N (S = statement, before 2018),
primary need type codes, FSM flags, ethnicity major groups, IDACI deciles.
Academic years are written as ``2021/22``; sessions are half days.
"""

from __future__ import annotations

import pandera.pandas as pa

from sendlink.schema.base import column, table
from sendlink.schema.spine import NPD_SPINE

ACADEMIC_YEAR = r"^\d{4}/\d{2}$"

SEN_PROVISION = {
    "E": "Education, health and care plan",
    "K": "SEN support",
    "N": "No special educational need",
    "S": "Statement of SEN (replaced by EHC plans; none after 2017/18)",
}
SEN_TYPES = {
    "SPLD": "Specific learning difficulty",
    "MLD": "Moderate learning difficulty",
    "SLD": "Severe learning difficulty",
    "PMLD": "Profound and multiple learning difficulty",
    "SEMH": "Social, emotional and mental health",
    "SLCN": "Speech, language and communication needs",
    "HI": "Hearing impairment",
    "VI": "Visual impairment",
    "MSI": "Multi-sensory impairment",
    "PD": "Physical disability",
    "ASD": "Autistic spectrum disorder",
    "OTH": "Other difficulty or disability",
    "NSA": "SEN support but no specialist assessment of type of need (SEN support only)",
    "": "no SEN recorded",
}
ETHNICITY = {
    "White": "White", "Mixed": "Mixed or multiple ethnic groups", "Asian": "Asian or Asian British",
    "Black": "Black, Black British, Caribbean or African", "Other": "Any other ethnic group", "Unknown": "Refused or not obtained",
}
_UPN = column(str, "Unique Pupil Number (links the NPD modules)", source="identifier")
_YEAR = column(str, "Academic year, e.g. 2021/22", source="design", checks=[pa.Check.str_matches(ACADEMIC_YEAR)])

SPINE = NPD_SPINE  # its contract lives with the linkage spine (schema.spine)

POSTCODE_HISTORY = table(
    "postcode_history",
    {"upn": _UPN, "academic_year": _YEAR, "postcode": column(str, "Home postcode recorded at the spring census", source="identifier")},
    description="Postcode at each spring census: families move, and the spine keeps only the latest.",
    holder="dfe", path="data/synthetic/npd/postcode_history.parquet", key=("upn", "academic_year"),
)

CENSUS = table(
    "census",
    {
        "upn": _UPN,
        "academic_year": _YEAR,
        "census_term": column(str, "Census term (need type is recorded in spring)", codes={"spring": "January census"}, source="design"),
        "ncyear": column(int, "National curriculum year (0 = Reception, 11 = Year 11)", checks=[pa.Check.in_range(0, 11)], source="design"),
        "la_code": column(str, "Local authority of the school (synthetic 3-digit code)", source="design"),
        "school_urn": column(str, "URN of the school attended", source="identifier"),
        "sen_provision": column(str, "SEN provision (SENprovision)", codes=SEN_PROVISION, source="published",
                                reference="DfE Special educational needs in England 2024/25: E 5.3%, K 14.2%; earlier years follow the published trend (assumed shape)"),
        "primary_sen_type": column(str, "Primary type of need (PrimarySENtype); empty without SEN", codes=SEN_TYPES, source="published",
                                   reference="EHC plans: DfE Education, health and care plans, Jan 2025; SEN support: SLCN most common (~26%), other shares assumed"),
        "fsm_eligible": column(bool, "Eligible for free school meals on census day (FSMeligible)", source="published",
                               reference="2024/25: 25.7% of pupils; E 43.8%, K 39.3%, N 22.2%"),
        "ever_fsm_6": column(bool, "Eligible for FSM at any census in the last six years (EVERFSM_6)", source="derived"),
        "eal": column(bool, "First language other than English (about 21% of pupils)", source="published"),
        "ethnicity_major": column(str, "Ethnicity major group", codes=ETHNICITY, source="assumed",
                                  reference="near DfE Schools, pupils and their characteristics 2024/25; not confirmed"),
        "idaci_decile": column(int, "IDACI decile of the home postcode (1 = most deprived)", checks=[pa.Check.in_range(1, 10)], source="derived"),
    },
    description="Spring school census, one row per pupil per academic year in state education.",
    holder="dfe", path="data/synthetic/npd/census.parquet", key=("upn", "academic_year"),
)

ABSENCE = table(
    "absence",
    {
        "upn": _UPN,
        "academic_year": _YEAR,
        "sessions_possible": column(int, "Sessions (half days) the pupil could attend", checks=[pa.Check.ge(0)], source="assumed",
                                    derivation="about 320 a year; 2019/20 covers autumn and spring only (schools closed in March 2020)"),
        "sessions_authorised": column(int, "Sessions missed with permission", checks=[pa.Check.ge(0)], source="published",
                                      reference="overall absence rates autumn 2023/24: E 12.4%, K 10.3%, N 6.1%"),
        "sessions_unauthorised": column(int, "Sessions missed without permission", checks=[pa.Check.ge(0)], source="assumed"),
    },
    description="Absence per pupil per year. Persistent absence: missing 10% or more of possible sessions (published autumn 2023/24: E 34.6%, K 29.9%, N 18.2%).",
    holder="dfe", path="data/synthetic/npd/absence.parquet", key=("upn", "academic_year"),
)

EXCLUSIONS = table(
    "exclusions",
    {
        "upn": _UPN,
        "academic_year": _YEAR,
        "suspensions": column(int, "Number of suspensions (fixed-period exclusions) in the year", checks=[pa.Check.ge(0)], source="published",
                              reference="11.3 per 100 pupils in 2023/24; pupils with SEN about 4x as likely"),
        "permanent_exclusion": column(bool, "Permanently excluded in the year", source="published",
                                      reference="risk 3.6x (EHC plan) and 5.2x (SEN support) that of pupils without SEN"),
    },
    description="Exclusion events: one row per pupil-year with at least one suspension or a permanent exclusion (no row means none).",
    holder="dfe", path="data/synthetic/npd/exclusions.parquet", key=("upn", "academic_year"),
)

EYFSP = table(
    "eyfsp",
    {
        "upn": _UPN, "academic_year": _YEAR,
        "eyfsp_total_points": column(int, "Early years foundation stage profile total (17 goals scored 1-3)", checks=[pa.Check.in_range(17, 51)], source="assumed"),
        "good_level_of_development": column(bool, "Reached a good level of development", source="assumed", reference="about 60% in 2013/14"),
    },
    description="EYFSP at the end of Reception.", holder="dfe", path="data/synthetic/npd/eyfsp.parquet", key=("upn",),
)

PHONICS = table(
    "phonics",
    {
        "upn": _UPN, "academic_year": _YEAR,
        "phonics_mark": column(int, "Phonics screening check mark (0-40)", checks=[pa.Check.in_range(0, 40)], source="assumed"),
        "phonics_met_standard": column(bool, "Met the expected standard (32 or more)", source="published", reference="2023/24: E 20%, K 52%, N 88%, all 80%"),
    },
    description="Phonics screening check in Year 1.", holder="dfe", path="data/synthetic/npd/phonics.parquet", key=("upn",),
)

_KS1_CODES = {
    "GDS": "working at greater depth (from 2016)", "EXS": "working at the expected standard (from 2016)",
    "WTS": "working towards the expected standard (from 2016)", "PKF": "pre-key stage foundations (from 2016)",
    "BLW": "below the pre-key stage standards (from 2016)", "3": "level 3 (to 2015)", "2A": "level 2A (to 2015)",
    "2B": "level 2B, the expected level (to 2015)", "2C": "level 2C (to 2015)", "1": "level 1 (to 2015)", "W": "working towards level 1 (to 2015)",
}
KS1 = table(
    "ks1",
    {
        "upn": _UPN, "academic_year": _YEAR,
        **{f"ks1_{s}": column(str, f"KS1 teacher assessment in {s}", codes=_KS1_CODES, source="assumed",
                              reference="expected standard 2015/16: reading 74%, writing 65%, maths 73% (assumed from published)")
           for s in ("reading", "writing", "maths")},
    },
    description="Key stage 1 teacher assessment in Year 2 (new scale from 2015/16; levels before).",
    holder="dfe", path="data/synthetic/npd/ks1.parquet", key=("upn",),
)

KS2 = table(
    "ks2",
    {
        "upn": _UPN, "academic_year": _YEAR,
        **{
            name: col
            for s in ("reading", "maths")
            for name, col in (
                (f"ks2_{s}_scaled", column(int, f"KS2 {s} scaled score (80-120)", checks=[pa.Check.in_range(80, 120)], source="assumed")),
                (f"ks2_{s}_met_expected", column(bool, f"KS2 {s}: scaled score 100 or more", source="assumed")),
            )
        },
    },
    description=(
        "Key stage 2 tests in Year 6. Tests were cancelled in 2019/20 and 2020/21 (COVID-19), so the SEND Futures "
        "cohort (Year 6 in 2019/20) and the year group after it have no KS2 results; only the year group before has them."
    ),
    holder="dfe", path="data/synthetic/npd/ks2.parquet", key=("upn",),
)

KS4 = table(
    "ks4",
    {
        "upn": _UPN, "academic_year": _YEAR,
        "attainment8": column(float, "Attainment 8 score (0-90; English and maths double-weighted)", checks=[pa.Check.in_range(0, 90)], source="published",
                              reference="2022/23: E 14.0, K 33.3, all 46.3"),
    },
    description="Key stage 4 results at the end of Year 11 (no Progress 8 for the cohort: it has no KS2 baseline).",
    holder="dfe", path="data/synthetic/npd/ks4.parquet", key=("upn",),
)

SCHOOLS = table(
    "schools",
    {
        "school_urn": column(str, "School URN", source="identifier", unique=True),
        "la_code": column(str, "Local authority code", source="design"),
        "phase": column(str, "Phase", codes={"primary": "primary", "secondary": "secondary", "special": "special school", "alternative_provision": "alternative provision"}, source="assumed"),
        "school_type": column(str, "Governance", codes={"academy": "academy or free school", "maintained": "LA maintained"}, source="assumed"),
    },
    description="Schools of the synthetic LAs (public information, as in Get Information About Schools).",
    holder="dfe", path="data/synthetic/npd/schools.parquet", key=("school_urn",),
)

LOCAL_AUTHORITIES = table(
    "local_authorities",
    {
        "la_code": column(str, "Local authority code (invented)", source="design", unique=True),
        "la_name": column(str, "Local authority name (invented)", source="design"),
        "region": column(str, "Region of England", source="design"),
    },
    description="The synthetic local authorities.", holder="dfe", path="data/synthetic/npd/local_authorities.parquet", key=("la_code",),
)
