"""The ``synth`` section of ``params.yaml``: the synthetic world (NPD, survey, consent events, truth).

Every number has a type and a range, so a typo in ``params.yaml`` stops the
run with the key's path instead of producing odd data. Shares are in [0, 1];
a mapping of shares that must sum to one is checked to do so.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
ETHNICITIES = ("White", "Mixed", "Asian", "Black", "Other", "Unknown")
#: Origin groups of names, in a fixed order: the generator has a name list for
#: each (:mod:`sendlink.synth.names`, whose codes index this tuple).
ORIGINS: tuple[str, ...] = (
    "british",
    "irish",
    "south_asian_muslim",
    "south_asian_indian",
    "west_african",
    "east_african",
    "caribbean",
    "polish",
    "romanian",
    "lithuanian",
    "portuguese",
    "turkish",
    "arabic",
    "chinese",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _sums_to_one(values: dict[str, float], what: str, tolerance: float = 1e-6) -> None:
    total = sum(values.values())
    if abs(total - 1.0) > tolerance:
        raise ValueError(f"{what} must sum to 1, got {total:.6f}")


class NpdParams(_Strict):
    cohort_birth_year: int = Field(ge=2000, le=2020)
    birth_years: list[int] = Field(min_length=1)
    pupils_per_year_group: int = Field(ge=200, le=1_000_000)
    first_census_year: int
    last_census_year: int
    local_authorities: int = Field(ge=1, le=200)
    pupils_per_primary_school: int = Field(ge=5)
    pupils_per_secondary_school: int = Field(ge=20)
    special_school_share_ehc: Share
    twin_share: Share
    sibling_share: Share
    double_barrelled_share: Share
    male_share: Share
    move_rate_per_year: Share
    move_rate_deprivation: float
    leave_rate_per_year: Share
    late_arrival_share_eal: Share
    ethnicity_shares: dict[str, Share]
    origin_mix: dict[str, dict[str, Share]]
    eal_by_origin: dict[str, Share]
    deprivation_by_ethnicity: dict[str, float]
    sen_ehc_share: dict[int, Share]
    sen_support_share: dict[int, Share]
    statement_share: dict[int, Share]
    sen_latent_deprivation: float
    sen_latent_male: float
    sen_latent_ability: float
    ehc_deprivation_shift: float
    sen_year_noise: float = Field(ge=0.0)
    fsm_share: dict[int, Share]
    fsm_year_noise: float = Field(ge=0.0)
    need_type_ehc: dict[str, Share]
    need_type_support: dict[str, Share]
    absence_target_rate: dict[str, Share]
    absence_pupil_sd: dict[str, Annotated[float, Field(ge=0.0)]]
    absence_year_sd: float = Field(ge=0.0)
    absence_year_shift: dict[int, float]
    sessions_possible_mean: int = Field(ge=100, le=400)
    suspension_rate: Positive
    suspension_sen_ratio: Positive
    suspension_dispersion: Positive
    permanent_exclusion_rate: Share
    permanent_exclusion_ratio: dict[str, Positive]
    phonics_pass: dict[str, Share]
    attainment8_mean: dict[str, Annotated[float, Field(ge=0, le=90)]]
    attainment8_sd: Positive
    eyfsp_gld_rate: Share
    ks1_expected: dict[str, Share]
    ks2_expected: dict[str, Share]

    @model_validator(mode="after")
    def _consistent(self) -> NpdParams:
        if self.cohort_birth_year not in self.birth_years:
            raise ValueError("cohort_birth_year must be one of birth_years")
        if self.first_census_year > self.last_census_year:
            raise ValueError("first_census_year must not be after last_census_year")
        if set(self.ethnicity_shares) != set(ETHNICITIES):
            raise ValueError(f"ethnicity_shares must have exactly {ETHNICITIES}")
        _sums_to_one(self.ethnicity_shares, "ethnicity_shares")
        for group, mix in self.origin_mix.items():
            if group not in ETHNICITIES:
                raise ValueError(f"origin_mix: unknown ethnicity group {group!r}")
            unknown = set(mix) - set(ORIGINS)
            if unknown:
                raise ValueError(f"origin_mix.{group}: unknown origin(s) {sorted(unknown)}; known: {ORIGINS}")
            _sums_to_one(mix, f"origin_mix.{group}")
        if set(self.origin_mix) != set(ETHNICITIES):
            raise ValueError(f"origin_mix must have exactly {ETHNICITIES}")
        if set(self.eal_by_origin) != set(ORIGINS):
            raise ValueError(f"eal_by_origin must have exactly {ORIGINS}")
        # Published need-type shares are rounded (and omit rare codes), so they
        # may miss 1 by a little; the generator renormalises them.
        _sums_to_one(self.need_type_ehc, "need_type_ehc", 0.02)
        _sums_to_one(self.need_type_support, "need_type_support", 0.02)
        years = set(range(self.first_census_year, self.last_census_year + 1))
        for name in ("sen_ehc_share", "sen_support_share", "absence_year_shift"):
            missing = years - set(getattr(self, name))
            if missing:
                raise ValueError(f"{name} lacks census year(s) {sorted(missing)}")
        fsm_years = set(range(self.first_census_year - 6, self.last_census_year + 1))
        if fsm_years - set(self.fsm_share):
            raise ValueError(f"fsm_share needs every year from {self.first_census_year - 6} (for EVERFSM_6)")
        return self


class SurveyParams(_Strict):
    frame_year: int
    sampling_fraction_web: dict[str, Share]
    sampling_fraction_f2f: dict[str, Share]
    not_in_npd_cases: int = Field(ge=0)
    response_web: Share
    response_f2f: Share
    response_effects: dict[str, float]
    young_person_response: Share
    breakoff_before_consent: dict[str, Share]
    wave2_retention: Share
    wave2_retention_effects: dict[str, float]
    wave3_retention: Share
    wave1_dates: tuple[dt.date, dt.date]
    wave2_dates: tuple[dt.date, dt.date]
    wave3_dates: tuple[dt.date, dt.date]

    @model_validator(mode="after")
    def _fractions(self) -> SurveyParams:
        for stratum in ("core", "seldom_heard"):
            total = self.sampling_fraction_web.get(stratum, 0) + self.sampling_fraction_f2f.get(stratum, 0)
            if total > 1:
                raise ValueError(f"sampling fractions for {stratum!r} add to {total} > 1")
        for a, b in (self.wave1_dates, self.wave2_dates, self.wave3_dates):
            if a > b:
                raise ValueError("a wave's start date is after its end date")
        return self


class ConsentGenParams(_Strict):
    events_until: dt.date
    base_rate: Share
    effects: dict[str, float]
    parent_scope_agreement: Share
    asked_again_wave2: bool
    withdrawal_rate: Share
    #: Shares of the parents' withdrawals at each level (no_contact, no_linkage, no_use); sum to one.
    withdrawal_levels: dict[Literal["no_contact", "no_linkage", "no_use"], Share]
    young_person_agree_with_parent: Share
    young_person_grant_if_parent_refused: Share
    #: Of the young people answering their own questionnaire at wave 1 or 2 (aged 12-14), the
    #: share who tell the study they do not want their answers linked.
    young_person_refusal_under_16: Share
    rights_requests: dict[str, Annotated[int, Field(ge=0)]]
    #: Requests whose outcome fieldwork recorded as other than granted on receipt:
    #: objections refused (public-interest task) and access requests extended.
    refused_objections: Annotated[int, Field(ge=0)]
    extended_access_requests: Annotated[int, Field(ge=0)]

    @model_validator(mode="after")
    def _levels(self) -> ConsentGenParams:
        total = sum(self.withdrawal_levels.values())
        if abs(total - 1) > 1e-9:
            raise ValueError(f"withdrawal_levels add to {total}, not 1")
        return self


class IdentifierParams(_Strict):
    forename_nickname: Share
    forename_spelling_variant: Share
    forename_typo: Share
    forename_is_middle_name: Share
    forename_missing: Share
    surname_missing: Share
    surname_typo: Share
    surname_changed: Share
    surname_double_barrel_one_part: Share
    names_transposed: Share
    middle_names_omitted: Share
    dob_day_month_swapped: Share
    dob_component_off: Share
    dob_missing: Share
    postcode_typo: Share
    postcode_missing: Share
    sex_missing: Share
    sex_wrong: Share
    school_missing: Share
    formatting_noise: Share
    eal_multiplier: float = Field(ge=1.0, le=5.0)


class OutcomeParams(_Strict):
    persistent_absence: dict[str, float]
    suspensions: dict[str, float]
    attainment8: dict[str, float]
    wellbeing: dict[str, float]


class SynthParams(_Strict):
    """The whole ``synth`` section."""

    npd: NpdParams
    survey: SurveyParams
    consent: ConsentGenParams
    identifiers: IdentifierParams
    outcomes: OutcomeParams
