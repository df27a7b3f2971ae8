"""Administrative records of the synthetic world: the NPD as DfE holds it.

From the world (households, pupils, postcode histories) this module makes,
year by year, what schools would have recorded in the spring census and
the other NPD modules: presence, school, SEN provision and need, FSM, IDACI,
absence, exclusions and attainment, and the identifier spine with UPNs.

Outcomes of the SEND Futures cohort in Years 10-11 are overwritten later by
:mod:`sendlink.synth.outcomes` for the surveyed population, so that the
planted effects hold exactly; everything else is generated here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit

from sendlink.params.synth import NpdParams
from sendlink.synth.calibrate import logit_normal_mean, solve_intercept, top_share
from sendlink.synth.geography import LocalAuthorities
from sendlink.synth.population import World

log = logging.getLogger(__name__)

#: Letters used as UPN check characters (DfE's table: no I, O or S).
UPN_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def academic_year_label(year: int | np.ndarray) -> str | np.ndarray:
    """2022 -> '2021/22' (academic years are labelled by the year they end)."""
    if isinstance(year, np.ndarray):
        uniques, inverse = np.unique(year, return_inverse=True)
        labels = np.array([academic_year_label(int(y)) for y in uniques], dtype=object)
        return labels[inverse.reshape(year.shape)]
    return f"{year - 1}/{str(year)[-2:]}"


def upn_check_letter(body: np.ndarray) -> np.ndarray:
    """DfE's UPN check letter for 12-digit bodies.

    Each of the 12 digits is multiplied by its position weight (2..13), the
    products are summed, and the sum modulo 23 indexes the check table.
    """
    raw = np.asarray(body).astype("S12")
    digits = (np.frombuffer(raw.tobytes(), dtype=np.uint8).reshape(len(raw), 12) - ord("0")).astype(int)
    if ((digits < 0) | (digits > 9)).any():
        raise ValueError("UPN bodies must be 12 digits")
    total = (digits * np.arange(2, 14)).sum(axis=1) % 23
    return np.array(list(UPN_CHECK_LETTERS), dtype=object)[total]


@dataclass
class Records:
    """Pupil-by-year matrices of recorded values (rows = pupils, cols = years)."""

    years: np.ndarray
    present: np.ndarray
    ncyear: np.ndarray
    la: np.ndarray
    school: np.ndarray  # index into schools table, -1 when absent
    provision: np.ndarray  # 'E','K','N','S' or ''
    need: np.ndarray
    fsm: np.ndarray
    ever_fsm6: np.ndarray
    idaci: np.ndarray
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: National curriculum year in which each pupil first attends a state
    #: school (0 = Reception; later for late arrivals).
    arrival: np.ndarray | None = None

    def col(self, year: int) -> int:
        return int(year - self.years[0])


def _presence(world: World, p: NpdParams, years: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pupils = world.pupils
    n = len(pupils)
    ncyear = years[None, :] - pupils["birth_year"].to_numpy()[:, None] - 6
    in_age = (ncyear >= 0) & (ncyear <= 11)
    # Late arrivals: some EAL pupils first appear after Reception.
    arrival = np.zeros(n, dtype=int)
    late = pupils["eal"].to_numpy() & (rng.random(n) < p.late_arrival_share_eal)
    arrival[late] = rng.integers(1, 10, late.sum())
    # Leavers: each year a small share leaves state education for good.
    leave_year = np.full(n, 99)
    u = rng.random((n, len(years)))
    left = u < p.leave_rate_per_year
    first_leave = np.where(left.any(axis=1), left.argmax(axis=1), 99)
    leave_year = np.where(first_leave < 99, first_leave, leave_year)
    present = in_age & (ncyear >= arrival[:, None]) & (np.arange(len(years))[None, :] < leave_year[:, None])
    return present, ncyear, arrival


def _assign_schools(
    world: World,
    p: NpdParams,
    schools: pd.DataFrame,
    las: LocalAuthorities,
    la: np.ndarray,
    present: np.ndarray,
    ncyear: np.ndarray,
    ehc: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """School index per pupil-year: kept unless the phase or LA changes."""
    n, n_years = present.shape
    school = np.full((n, n_years), -1, dtype=int)
    la_codes = las.table["la_code"].to_numpy()
    by_la_phase: dict[tuple[int, str], np.ndarray] = {}
    for (code, phase), rows in schools.groupby(["la_code", "phase"]).groups.items():
        by_la_phase[(int(np.flatnonzero(la_codes == code)[0]), phase)] = np.asarray(rows)
    special_draw = rng.random(n) < p.special_school_share_ehc
    for t in range(n_years):
        phase = np.where(ncyear[:, t] <= 6, "primary", "secondary").astype(object)
        # Pupils with an EHC plan move to a special school with some probability.
        phase[ehc[:, t] & special_draw] = "special"
        prev = school[:, t - 1] if t > 0 else np.full(n, -1)
        prev_ok = prev >= 0
        prev_phase = np.where(prev_ok, schools["phase"].to_numpy()[np.maximum(prev, 0)], "")
        prev_la = np.where(prev_ok, la[:, t - 1] if t > 0 else -1, -1)
        keep = present[:, t] & prev_ok & (prev_phase == phase) & (prev_la == la[:, t])
        # Alternative provision stays until the pupil moves on to a new phase.
        keep |= present[:, t] & prev_ok & (prev_phase == "alternative_provision") & (phase != "primary")
        school[keep, t] = prev[keep]
        need = np.flatnonzero(present[:, t] & ~keep)
        for la_index in np.unique(la[need, t]):
            for ph in ("primary", "secondary", "special"):
                rows = need[(la[need, t] == la_index) & (phase[need] == ph)]
                if len(rows):
                    options = by_la_phase.get((int(la_index), ph))
                    if options is None:  # a tiny LA without that phase: use secondary
                        options = by_la_phase[(int(la_index), "secondary")]
                    school[rows, t] = options[rng.integers(0, len(options), len(rows))]
    return school


def make_records(
    world: World, p: NpdParams, las: LocalAuthorities, schools: pd.DataFrame, rng: np.random.Generator
) -> Records:
    """Presence, LA, SEN, FSM, IDACI and school for every pupil and census year."""
    years = np.arange(p.first_census_year, p.last_census_year + 1)
    pupils = world.pupils
    n = len(pupils)
    present, ncyear, arrival = _presence(world, p, years, rng)
    offset = p.first_census_year - world.first_year
    la = world.la_by_year[pupils["household"].to_numpy(), offset:]  # type: ignore[attr-defined]

    # SEN: a latent propensity drifting year to year; EHC plans persist.
    drift = np.cumsum(rng.normal(0.0, p.sen_year_noise, (n, len(years))), axis=1)
    z = pupils["sen_latent"].to_numpy()[:, None] + drift
    # Who gets an EHC plan also depends on the family's circumstances.
    z_ehc = z + p.ehc_deprivation_shift * pupils["deprivation"].to_numpy()[:, None]
    provision = np.full((n, len(years)), "", dtype=object)
    ehc = np.zeros((n, len(years)), dtype=bool)
    for t, year in enumerate(years):
        here = present[:, t]
        already = here & (ehc[:, t - 1] if t > 0 else False)
        target = int(round(p.sen_ehc_share[int(year)] * here.sum()))
        extra = max(0, target - int(already.sum()))
        # EHC plans go to those with the highest need among the pupils on SEN
        # support or above (so a plan follows identified need).
        sen_pool = here & ~already & top_share(z[:, t], here, p.sen_ehc_share[int(year)] + p.sen_support_share[int(year)])
        new = top_share(z_ehc[:, t], sen_pool, extra / max(1, sen_pool.sum()))
        ehc[:, t] = already | new
        support = top_share(z[:, t], here & ~ehc[:, t], p.sen_support_share[int(year)] / (1 - p.sen_ehc_share[int(year)]))
        provision[here, t] = "N"
        provision[support, t] = "K"
        provision[ehc[:, t], t] = "E"
    # Statements (S) before conversion to EHC plans was complete (2018).
    conversion_draw = rng.random(n)
    for year, share in p.statement_share.items():
        if year in years:
            t = int(year - years[0])
            first_e = ehc.argmax(axis=1)
            long_standing = ehc[:, t] & (first_e <= 0)
            provision[long_standing & (conversion_draw < share), t] = "S"

    need = _need_types(p, provision, rng)

    # FSM: household deprivation plus a household shock that persists.
    n_fsm_years = p.last_census_year - (p.first_census_year - 6) + 1
    household = pupils["household"].to_numpy()
    shocks = np.zeros((len(world.households), n_fsm_years))
    shocks[:, 0] = rng.normal(0.0, p.fsm_year_noise, len(world.households))
    for t in range(1, n_fsm_years):
        shocks[:, t] = 0.8 * shocks[:, t - 1] + rng.normal(0.0, p.fsm_year_noise * 0.6, len(world.households))
    fsm_score = pupils["deprivation"].to_numpy()[:, None] + shocks[household]
    fsm_all = np.zeros((n, n_fsm_years), dtype=bool)
    fsm_first = p.first_census_year - 6
    eligible_age = (np.arange(fsm_first, p.last_census_year + 1)[None, :] - pupils["birth_year"].to_numpy()[:, None] - 6) >= -2
    for t in range(n_fsm_years):
        fsm_all[:, t] = top_share(fsm_score[:, t], eligible_age[:, t], p.fsm_share[fsm_first + t])
    fsm = fsm_all[:, 6:]
    ever6 = np.zeros_like(fsm)
    for t in range(len(years)):
        ever6[:, t] = fsm_all[:, t + 1 : t + 7].any(axis=1)
    fsm &= present
    ever6 &= present

    # IDACI: neighbourhood deprivation, correlated with the household's and
    # redrawn when the family moves (decile 1 = most deprived).
    pcs = world.postcodes[household, offset:]
    moved = np.zeros_like(present)
    moved[:, 1:] = pcs[:, 1:] != pcs[:, :-1]
    location = np.zeros((n, len(years)))
    location[:, 0] = rng.normal(0.0, 0.7, n)
    for t in range(1, len(years)):
        location[:, t] = np.where(moved[:, t], rng.normal(0.0, 0.7, n), location[:, t - 1])
    idaci_score = 0.75 * pupils["deprivation"].to_numpy()[:, None] + location
    # Deciles of the score over all pupil-years (decile 1 = most deprived).
    cuts = np.quantile(idaci_score[present], np.linspace(0.1, 0.9, 9))
    idaci = 10 - np.searchsorted(cuts, idaci_score, side="right")
    idaci[~present] = 0

    school = _assign_schools(world, p, schools, las, la, present, ncyear, ehc, rng)
    return Records(years, present, ncyear, la, school, provision, need, fsm, ever6, idaci, arrival=arrival)


def _need_types(p: NpdParams, provision: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Primary need per pupil-year: one need for SEN support and one for an
    EHC plan, drawn once per pupil, so the need is stable over time and
    follows the published distribution for each provision."""
    n = provision.shape[0]

    def draw(shares: dict[str, float]) -> np.ndarray:
        keys = np.array(list(shares), dtype=object)
        probs = np.array(list(shares.values()))
        return keys[rng.choice(len(keys), n, p=probs / probs.sum())]

    need_k = draw(p.need_type_support)
    need_e = draw(p.need_type_ehc)
    need = np.full(provision.shape, "", dtype=object)
    is_k = provision == "K"
    is_e = np.isin(provision, ["E", "S"])
    need[is_k] = np.broadcast_to(need_k[:, None], provision.shape)[is_k]
    need[is_e] = np.broadcast_to(need_e[:, None], provision.shape)[is_e]
    return need


def allocate_upns(world: World, records: Records, las: LocalAuthorities, schools: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """A unique 13-character UPN per pupil: check letter, LA code, school
    number, year of allocation, serial (DfE's structure)."""
    n = len(world.pupils)
    first = np.where(records.present.any(axis=1), records.present.argmax(axis=1), 0)
    rows = np.arange(n)
    school_idx = records.school[rows, first]
    la_code = np.where(
        school_idx >= 0,
        schools["la_code"].to_numpy()[np.maximum(school_idx, 0)],
        las.table["la_code"].to_numpy()[records.la[rows, first]],
    )
    estab = np.where(school_idx >= 0, schools["school_urn"].to_numpy()[np.maximum(school_idx, 0)], "0000")
    estab = np.array([s[-4:] for s in estab], dtype=object)
    entry_year = world.pupils["birth_year"].to_numpy() + 6
    yy = np.array([f"{y % 100:02d}" for y in entry_year], dtype=object)
    prefix = np.array([a + b + c for a, b, c in zip(la_code, estab, yy, strict=True)], dtype=object)
    # Serial: order within the (LA, school, year) prefix, randomised.
    order = rng.permutation(n)
    frame = pd.DataFrame({"prefix": prefix[order]}, index=order)
    serial = frame.groupby("prefix").cumcount().sort_index().to_numpy()
    if serial.max() >= 1000:
        raise ValueError("more than 999 pupils share a UPN prefix; lower the school size")
    body = np.array([f"{pre}{s:03d}" for pre, s in zip(prefix, serial, strict=True)], dtype=object)
    return upn_check_letter(body) + body


# --- absence, exclusions, attainment ----------------------------------------


def absence_model(world: World, records: Records, p: NpdParams, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Logit-normal absence rates, calibrated by provision to the published
    2023/24 rates; returns the pupil-year mean logits and sessions possible."""
    n, n_years = records.present.shape
    # A pupil's own tendency to be absent, scaled by their provision when
    # they are first seen with SEN (or N), so the spread is stable over years.
    pupil_z = rng.normal(0.0, 1.0, n)
    ever_e = np.isin(records.provision, ["E", "S"]).any(axis=1)
    ever_k = (records.provision == "K").any(axis=1)
    sd = np.where(ever_e, p.absence_pupil_sd["E"], np.where(ever_k, p.absence_pupil_sd["K"], p.absence_pupil_sd["N"]))
    pupil_effect = pupil_z * sd
    school_exp = world.pupils["school_experience"].to_numpy()
    fsm_effect = 0.35 * records.fsm
    secondary = 0.25 * (records.ncyear >= 7)
    covariates = fsm_effect + secondary - 0.2 * school_exp[:, None]
    intercept = np.zeros((n, n_years))
    calib_year = min(2024, int(records.years[-1]))
    t_cal = records.col(calib_year)
    shift = np.array([p.absence_year_shift[int(y)] for y in records.years])
    for prov in ("E", "K", "N"):
        in_group = records.present[:, t_cal] & (records.provision[:, t_cal] == prov)
        offsets = covariates[in_group, t_cal] + shift[t_cal] + pupil_effect[in_group]
        c = solve_intercept(offsets, p.absence_year_sd, p.absence_target_rate[prov])
        groups = np.isin(records.provision, ["E", "S"]) if prov == "E" else records.provision == prov
        intercept[groups] = c
    mean_logit = intercept + covariates + shift[None, :] + pupil_effect[:, None]
    possible = np.rint(rng.normal(p.sessions_possible_mean, 8, (n, n_years))).astype(int)
    # 2019/20: the summer term was not collected (schools closed in March 2020).
    if 2020 in records.years:
        t = records.col(2020)
        possible[:, t] = np.rint(possible[:, t] * 0.62).astype(int)
    return {"mean_logit": mean_logit, "possible": possible}


def draw_absence(mean_logit: np.ndarray, possible: np.ndarray, sd: float, rng: np.random.Generator) -> np.ndarray:
    """Sessions missed, from a logit-normal rate around ``mean_logit``."""
    rate = expit(mean_logit + rng.normal(0.0, sd, mean_logit.shape))
    return rng.binomial(possible, rate)


def suspension_means(world: World, records: Records, p: NpdParams) -> np.ndarray:
    """Expected suspensions per pupil-year before frailty.

    Assumed age profile: secondary pupils are suspended about twelve times
    as often as primary pupils; the overall rate is the published 11.3 per
    100 pupils (2023/24) for a population evenly spread over Years R-11.
    Pupils with SEN are ``suspension_sen_ratio`` times as likely.
    """
    secondary_rate = p.suspension_rate * 12 / (7 / 12 * 1 + 5 / 12 * 12)
    base = np.where(records.ncyear >= 7, secondary_rate, secondary_rate / 12)
    sen = np.isin(records.provision, ["E", "K", "S"])
    ratio = p.suspension_sen_ratio
    share_sen = 0.19
    sen_mult = np.where(sen, ratio, 1.0) / (share_sen * ratio + (1 - share_sen))
    male = (world.pupils["sex"].to_numpy() == "M")[:, None]
    fsm = records.fsm
    return base * sen_mult * np.where(male, 1.4, 0.6) * np.where(fsm, 1.6, 0.85) * records.present


def draw_exclusions(world: World, records: Records, p: NpdParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Suspension counts and permanent exclusions per pupil-year."""
    n, n_years = records.present.shape
    frailty = rng.gamma(p.suspension_dispersion, 1.0 / p.suspension_dispersion, n)
    mean = suspension_means(world, records, p) * frailty[:, None]
    suspensions = rng.poisson(mean)
    ratio = np.where(records.provision == "K", p.permanent_exclusion_ratio["K"], 1.0)
    ratio = np.where(np.isin(records.provision, ["E", "S"]), p.permanent_exclusion_ratio["E"], ratio)
    pex_p = p.permanent_exclusion_rate * ratio * (records.ncyear >= 7) * records.present * np.minimum(frailty, 5)[:, None]
    permanent = rng.random((n, n_years)) < pex_p / 1.2
    return suspensions, permanent


def attainment_latent(world: World, records: Records, rng: np.random.Generator) -> np.ndarray:
    """A pupil's attainment propensity: ability less SEN need, plus noise."""
    pupils = world.pupils
    return pupils["ability"].to_numpy() - 0.35 * pupils["sen_latent"].to_numpy() + rng.normal(0, 0.4, len(pupils))


def provision_at(records: Records, year: int) -> np.ndarray:
    """E/K/N (S counted as E) in ``year``; '' when not present."""
    prov = records.provision[:, records.col(year)].copy()
    prov[prov == "S"] = "E"
    return prov


def _pass_threshold_by_group(score: np.ndarray, group: np.ndarray, targets: dict[str, float]) -> np.ndarray:
    """Pass where the score is above the group's (1 - target) quantile."""
    passed = np.zeros(len(score), dtype=bool)
    for g, rate in targets.items():
        rows = np.flatnonzero(group == g)
        if len(rows):
            cut = np.quantile(score[rows], 1 - rate)
            passed[rows] = score[rows] > cut
    return passed


def make_attainment(world: World, records: Records, p: NpdParams, latent: np.ndarray, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """EYFSP, phonics, KS1, KS2 (where tests ran) and KS4 Attainment 8.

    KS2 tests were cancelled in 2020 and 2021, so only pupils in Year 6 in
    2018/19 have KS2 results; the SEND Futures cohort (Year 6 in 2019/20)
    has none. Attainment 8 exists for Year 11 in 2023/24 and 2024/25.
    Module years before the first census year are generated too: the NPD
    holds them, and the cohort's EYFSP (2013/14) and phonics (2014/15)
    precede the census years in this project.

    A pupil has a result only for assessments taken after arriving in a
    state school (:attr:`Records.arrival`): a late arrival has no EYFSP,
    and no phonics or KS1 result either if they came after Year 1 or 2, as
    in the real NPD (the outcome analysis imputes what is missing). The
    scores themselves are drawn for everyone first, so which pupils arrive
    late changes no one else's result.
    """
    pupils = world.pupils
    n = len(pupils)
    birth = pupils["birth_year"].to_numpy()
    # Provision at the time of an assessment before the census window: use
    # the first census year's provision (an approximation, stated).
    def prov_for(year: int) -> np.ndarray:
        y = min(max(year, int(records.years[0])), int(records.years[-1]))
        prov = provision_at(records, y)
        return np.where(prov == "", "N", prov)

    ever_present = records.present.any(axis=1)
    arrival = records.arrival if records.arrival is not None else np.zeros(n, dtype=int)

    def taken(ncyear: int) -> np.ndarray:
        """On roll in a state school when the assessment of ``ncyear`` was taken."""
        return ever_present & (arrival <= ncyear)

    out: dict[str, pd.DataFrame] = {}

    # EYFSP (Reception): total of 17 early learning goals scored 1-3.
    year = birth + 6
    noise = latent + rng.normal(0, 0.6, n)
    total = np.clip(np.rint(34 + 7 * noise), 17, 51).astype(int)
    gld = noise > np.quantile(noise, 1 - p.eyfsp_gld_rate)
    out["eyfsp"] = pd.DataFrame({"pid": np.arange(n), "year": year, "eyfsp_total_points": total, "good_level_of_development": gld})[taken(0)]

    # Phonics screening check (Year 1): mark 0-40, standard is 32.
    year = birth + 7
    score = latent + rng.normal(0, 0.5, n)
    group = np.empty(n, dtype=object)
    for y in np.unique(year):
        rows = year == y
        group[rows] = prov_for(int(y))[rows]
    met = _pass_threshold_by_group(score, group, p.phonics_pass)
    mark = np.where(met, rng.integers(32, 41, n), np.clip(np.rint(24 + 8 * score), 0, 31)).astype(int)
    out["phonics"] = pd.DataFrame({"pid": np.arange(n), "year": year, "phonics_mark": mark, "phonics_met_standard": met})[taken(1)]

    # KS1 teacher assessment (Year 2). From 2016: GDS/EXS/WTS/PKF/BLW;
    # before 2016: national curriculum levels W, 1, 2C, 2B, 2A, 3.
    year = birth + 8
    ks1 = {"pid": np.arange(n), "year": year}
    for subject, rate in p.ks1_expected.items():
        s = latent + rng.normal(0, 0.45, n)
        q = (s.argsort(kind="stable").argsort(kind="stable") + 0.5) / n
        new = np.select([q > 1 - rate * 0.3, q > 1 - rate, q > 0.08, q > 0.03], ["GDS", "EXS", "WTS", "PKF"], "BLW")
        old = np.select([q > 1 - rate * 0.3, q > 1 - rate * 0.7, q > 1 - rate, q > 0.2, q > 0.06], ["3", "2A", "2B", "2C", "1"], "W")
        ks1[f"ks1_{subject}"] = np.where(year >= 2016, new, old)
    out["ks1"] = pd.DataFrame(ks1)[taken(2)]

    # KS2 (Year 6): scaled scores 80-120 where tests ran (not 2020 or 2021).
    year = birth + 12
    ran = ~np.isin(year, [2020, 2021]) & taken(6)
    ks2 = {"pid": np.arange(n), "year": year}
    for subject, rate in p.ks2_expected.items():
        s = latent + rng.normal(0, 0.4, n)
        cut = np.quantile(s[ran], 1 - rate) if ran.any() else 0.0
        scaled = np.clip(np.rint(100 + 7 * (s - cut)), 80, 120).astype(int)
        ks2[f"ks2_{subject}_scaled"] = scaled
        ks2[f"ks2_{subject}_met_expected"] = scaled >= 100
    out["ks2"] = pd.DataFrame(ks2)[ran]
    # Every pupil's early results, recorded or not: evaluation code fills the
    # unrecorded ones in when it computes census values (truth only).
    out["potential"] = pd.DataFrame({
        "pid": np.arange(n), "eyfsp_total_points": total, "phonics_mark": mark,
        **{f"ks1_{subject}": ks1[f"ks1_{subject}"] for subject in p.ks1_expected},
    })
    return out


def attainment8(latent: np.ndarray, prov: np.ndarray, fsm: np.ndarray, special: np.ndarray, p: NpdParams, rng: np.random.Generator, extra: np.ndarray | None = None) -> np.ndarray:
    """Attainment 8 (0-90): a linear score clipped to the range.

    Group shifts for EHC plans and SEN support are calibrated so the group
    means match the published 2022/23 figures; ``extra`` adds the planted
    terms of the surveyed cohort.
    """
    base = 46.0 + 11.0 * latent - 3.0 * fsm - 10.0 * special + rng.normal(0, p.attainment8_sd * 0.6, len(latent))
    if extra is not None:
        base = base + extra
    shift = {"E": 0.0, "K": 0.0, "N": 0.0}
    targets = {"E": p.attainment8_mean["E"], "K": p.attainment8_mean["K"]}
    for group, target in targets.items():
        rows = prov == group
        if rows.any():
            lo, hi = -90.0, 90.0
            for _ in range(60):
                mid = (lo + hi) / 2
                if np.clip(base[rows] + mid, 0, 90).mean() < target:
                    lo = mid
                else:
                    hi = mid
            shift[group] = (lo + hi) / 2
    rows = prov == "N"
    if rows.any():
        others = np.clip(base[~rows] + np.where(prov[~rows] == "E", shift["E"], shift["K"]), 0, 90)
        need_total = p.attainment8_mean["all"] * len(prov) - others.sum()
        target_n = need_total / rows.sum()
        lo, hi = -90.0, 90.0
        for _ in range(60):
            mid = (lo + hi) / 2
            if np.clip(base[rows] + mid, 0, 90).mean() < target_n:
                lo = mid
            else:
                hi = mid
        shift["N"] = (lo + hi) / 2
    value = base + np.select([prov == "E", prov == "K"], [shift["E"], shift["K"]], shift["N"])
    return np.round(np.clip(value, 0, 90), 1)


__all__ = [
    "Records",
    "UPN_CHECK_LETTERS",
    "absence_model",
    "academic_year_label",
    "allocate_upns",
    "attainment8",
    "attainment_latent",
    "draw_absence",
    "draw_exclusions",
    "logit_normal_mean",
    "make_attainment",
    "make_records",
    "provision_at",
    "upn_check_letter",
]
