"""Households and pupils: who they are, where they live, their latent traits.

Everything here is the synthetic *world*, before any administrative record
or survey answer is made from it. The world holds, per pupil, the true
identifiers and a few latent traits that later drive records and answers:

* ``deprivation`` (household, SD units): drives FSM, IDACI, SEN, outcomes;
* ``ability`` (pupil): drives attainment, and SEN inversely;
* ``sen_latent`` (pupil): propensity to have special educational needs;
* ``school_experience`` (pupil): how well school suits the child; drives
  absence and suspensions, and the parent's answers and consent.

Siblings share a household (surname, address, ethnicity, deprivation);
twins also share a date of birth and differ in forename.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sendlink.params.synth import ETHNICITIES, NpdParams
from sendlink.synth import names
from sendlink.synth.geography import LocalAuthorities, random_addresses, random_postcodes

MINORITY_ETHNICITIES = ("Mixed", "Asian", "Black", "Other")


@dataclass
class World:
    """Households and pupils of the synthetic world (true values)."""

    households: pd.DataFrame
    pupils: pd.DataFrame
    postcodes: np.ndarray  # households x years (index 0 = first_year)
    first_year: int


def _household_plan(p: NpdParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decide how many households there are and which children each has.

    Returns, per child: household index, birth year, and a twin flag.
    """
    groups = np.array(p.birth_years)
    total = p.pupils_per_year_group * len(groups)
    twin_pairs = int(round(total * p.twin_share / 2))
    sibling_pairs = int(round(total * p.sibling_share / 2)) if len(groups) > 1 else 0
    singles = total - 2 * twin_pairs - 2 * sibling_pairs
    # Households in a fixed order: singles, sibling pairs, twin pairs.
    single_year = rng.choice(groups, singles)
    first = rng.integers(0, len(groups) - 1, sibling_pairs) if len(groups) > 1 else np.array([], int)
    gap = np.where(rng.random(sibling_pairs) < 0.7, 1, 2) if len(groups) > 1 else np.array([], int)
    second = np.minimum(first + gap, len(groups) - 1)
    twin_year = rng.choice(groups, twin_pairs)
    n_households = singles + sibling_pairs + twin_pairs
    household = np.concatenate(
        [
            np.arange(singles),
            np.repeat(np.arange(singles, singles + sibling_pairs), 2),
            np.repeat(np.arange(singles + sibling_pairs, n_households), 2),
        ]
    )
    birth_year = np.concatenate(
        [single_year, np.column_stack([groups[first], groups[second]]).ravel(), np.repeat(twin_year, 2)]
    )
    twin = np.concatenate([np.zeros(singles + 2 * sibling_pairs, bool), np.ones(2 * twin_pairs, bool)])
    return household, birth_year, twin


def _draw_categorical(shares: dict[str, float], size: int, rng: np.random.Generator) -> np.ndarray:
    keys = list(shares)
    probs = np.array([shares[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size, p=probs / probs.sum())]


def make_households(
    n: int, p: NpdParams, las: LocalAuthorities, rng: np.random.Generator
) -> pd.DataFrame:
    """Draw ``n`` households: LA, ethnicity, name origin, EAL, deprivation, surname."""
    la_index = rng.choice(las.n, n, p=las.table["size_weight"].to_numpy())
    # Ethnicity depends on the LA's diversity: the minority share scales with it.
    diversity = las.table["diversity"].to_numpy()[la_index]
    base = np.array([p.ethnicity_shares[e] for e in ETHNICITIES])
    is_minority = np.array([e in MINORITY_ETHNICITIES for e in ETHNICITIES])
    ethnicity = np.empty(n, dtype=object)
    u = rng.random(n)
    for d in np.unique(diversity):
        rows = diversity == d
        shares = np.where(is_minority, base * d, base)
        white = ETHNICITIES.index("White")
        shares[white] = max(0.05, 1.0 - shares[~np.isin(np.arange(len(base)), [white])].sum())
        cum = np.cumsum(shares / shares.sum())
        ethnicity[rows] = np.array(ETHNICITIES, dtype=object)[np.searchsorted(cum, u[rows], side="right").clip(0, len(base) - 1)]
    origin = np.empty(n, dtype=object)
    for group in ETHNICITIES:
        rows = np.flatnonzero(ethnicity == group)
        origin[rows] = _draw_categorical(p.origin_mix[group], len(rows), rng)
    eal_rate = np.array([p.eal_by_origin[o] for o in origin])
    eal = rng.random(n) < eal_rate
    deprivation = (
        rng.normal(0.0, 1.0, n)
        + np.array([p.deprivation_by_ethnicity[e] for e in ethnicity])
        + las.table["mean_deprivation"].to_numpy()[la_index]
    )
    surname = np.empty(n, dtype=object)
    for origin_name in names.ORIGINS:
        rows = np.flatnonzero(origin == origin_name)
        surname[rows] = names.surname_pool(origin_name, 0.5, 0.6).sample(len(rows), rng)
    # Double-barrelled surnames: two British surnames joined by a hyphen.
    british = np.flatnonzero(origin == "british")
    double = british[rng.random(len(british)) < p.double_barrelled_share]
    second = names.surname_pool("british", 0.5, 0.6).sample(len(double), rng)
    surname[double] = [f"{a}-{b}" if a != b else a for a, b in zip(surname[double], second, strict=True)]
    return pd.DataFrame(
        {
            "household": np.arange(n),
            "la_index": la_index,
            "ethnicity": ethnicity,
            "origin": origin,
            "eal": eal,
            "deprivation": deprivation,
            "surname": surname,
        }
    )


def postcode_histories(
    households: pd.DataFrame,
    las: LocalAuthorities,
    years: np.ndarray,
    p: NpdParams,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Each household's postcode in each year, with moves.

    Moves happen with probability ``move_rate_per_year`` (higher for more
    deprived households); 60% stay in the same postcode district, 30% move
    to another district of the LA, 10% to another LA. Returns the postcode
    matrix (households x years) and the LA index matrix.
    """
    n = len(households)
    areas = las.table["postcode_area"].to_numpy()
    la = households["la_index"].to_numpy().copy()
    current = random_postcodes(areas[la], rng)
    districts = np.array([int(pc.split(" ")[0][len(areas[la[i]]):]) for i, pc in enumerate(current)])
    pcs = np.empty((n, len(years)), dtype=object)
    las_by_year = np.empty((n, len(years)), dtype=int)
    logit_base = np.log(p.move_rate_per_year / (1 - p.move_rate_per_year))
    dep = households["deprivation"].to_numpy()
    for t in range(len(years)):
        if t > 0:
            prob = 1 / (1 + np.exp(-(logit_base + p.move_rate_deprivation * dep)))
            movers = np.flatnonzero(rng.random(n) < prob)
            kind = rng.random(len(movers))
            other_la = movers[kind >= 0.9]
            la[other_la] = rng.choice(las.n, len(other_la), p=las.table["size_weight"].to_numpy())
            new_district = movers[(kind >= 0.6)]
            districts[new_district] = rng.integers(1, 30, len(new_district))
            current[movers] = random_postcodes(areas[la[movers]], rng, districts[movers])
        pcs[:, t] = current
        las_by_year[:, t] = la
    return pcs, las_by_year


def make_pupils(
    households: pd.DataFrame,
    household_of: np.ndarray,
    birth_year: np.ndarray,
    twin: np.ndarray,
    p: NpdParams,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Draw each child's sex, date of birth, names and latent traits."""
    n = len(household_of)
    hh = households.iloc[household_of].reset_index(drop=True)
    sex = np.where(rng.random(n) < p.male_share, "M", "F").astype(object)
    # Date of birth: uniform over the academic year; twins share it.
    start = (np.asarray(birth_year) - 1970).astype("datetime64[Y]").astype("datetime64[M]") + np.timedelta64(8, "M")
    start = start.astype("datetime64[D]")
    days = rng.integers(0, 365, n)
    twin_rows = np.flatnonzero(twin)
    days[twin_rows[1::2]] = days[twin_rows[0::2]]
    dob = start + days.astype("timedelta64[D]")

    forename = np.empty(n, dtype=object)
    origin = hh["origin"].to_numpy()
    for origin_name in names.ORIGINS:
        for s in ("F", "M"):
            rows = np.flatnonzero((origin == origin_name) & (sex == s))
            forename[rows] = names.forename_pool(origin_name, s, 0.5, 0.4).sample(len(rows), rng)
    # Twins (and siblings) get different forenames: redraw clashes.
    first, second = twin_rows[0::2], twin_rows[1::2]
    for _ in range(20):
        clash = second[forename[second] == forename[first]]
        if len(clash) == 0:
            break
        for row in clash:
            forename[row] = names.forename_pool(origin[row], sex[row], 0.5, 0.4).sample(1, rng)[0]
    middle = _middle_names(forename, sex, origin, rng)
    surname = hh["surname"].to_numpy().copy()
    girls = np.flatnonzero(sex == "F")
    surname[girls] = [names.feminine_surname(s, o) for s, o in zip(surname[girls], origin[girls], strict=True)]

    # Latent traits. Siblings share part of their ability (family effect).
    family_ability = rng.normal(0.0, 0.5, len(households))[household_of]
    deprivation = hh["deprivation"].to_numpy()
    ability = family_ability - 0.3 * deprivation + rng.normal(0.0, 0.8, n)
    sen_latent = (
        p.sen_latent_deprivation * deprivation
        + p.sen_latent_male * (sex == "M")
        - p.sen_latent_ability * ability
        + rng.normal(0.0, 1.0, n)
    )
    school_experience = -0.25 * sen_latent + rng.normal(0.0, 1.0, n)
    return pd.DataFrame(
        {
            "pid": np.arange(n),
            "household": household_of,
            "birth_year": birth_year,
            "twin": twin,
            "sex": sex,
            "date_of_birth": dob,
            "forename": forename,
            "middle_names": middle,
            "surname": surname,
            "origin": origin,
            "ethnicity": hh["ethnicity"].to_numpy(),
            "eal": hh["eal"].to_numpy(),
            "deprivation": deprivation,
            "ability": ability,
            "sen_latent": sen_latent,
            "school_experience": school_experience,
        }
    )


def _middle_names(forename: np.ndarray, sex: np.ndarray, origin: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Middle names by custom: many British children have one or two; many
    South Asian Muslim boys are registered as Muhammad + a name they go by;
    many British-Chinese children have a Chinese middle name."""
    n = len(forename)
    middle = np.full(n, "", dtype=object)
    u = rng.random(n)
    for s in ("F", "M"):
        brit = np.flatnonzero((origin == "british") & (sex == s))
        common = np.array(names.BRITISH_MIDDLE[s], dtype=object)
        one = brit[u[brit] < 0.75]
        middle[one] = common[rng.integers(0, len(common), len(one))]
        two = brit[u[brit] < 0.10]
        extra = names.forename_pool("british", s, 0.5, 0.0).sample(len(two), rng)
        middle[two] = [f"{a} {b}" if a != b else a for a, b in zip(middle[two], extra, strict=True)]
        other = np.flatnonzero((origin != "british") & (sex == s) & (u < 0.35))
        for origin_name in np.unique(origin[other]):
            rows = other[origin[other] == origin_name]
            pool_origin = origin_name if origin_name != "chinese" else "chinese"
            middle[rows] = names.forename_pool(pool_origin, s, 0.5, 0.0).sample(len(rows), rng)
    muslim_boys = np.flatnonzero((origin == "south_asian_muslim") & (sex == "M") & (rng.random(n) < 0.45))
    called = forename[muslim_boys].copy()
    forename[muslim_boys] = np.where(rng.random(len(muslim_boys)) < 0.6, "Muhammad", "Mohammed")
    middle[muslim_boys] = np.where(np.isin(called, ["Muhammad", "Mohammed"]), "Ali", called)
    middle[middle == forename] = ""
    return middle


def build_world(p: NpdParams, las: LocalAuthorities, rng: np.random.Generator) -> World:
    """Households, pupils and postcode histories from ``first_census_year - 6``."""
    household_of, birth_year, twin = _household_plan(p, rng)
    n_households = int(household_of.max()) + 1
    households = make_households(n_households, p, las, rng)
    first_year = p.first_census_year - 6
    years = np.arange(first_year, p.last_census_year + 1)
    pcs, la_by_year = postcode_histories(households, las, years, p, rng)
    households["address_line"] = random_addresses(n_households, rng)
    pupils = make_pupils(households, household_of, birth_year, twin, p, rng)
    world = World(households=households, pupils=pupils, postcodes=pcs, first_year=first_year)
    world.la_by_year = la_by_year  # type: ignore[attr-defined]
    return world
