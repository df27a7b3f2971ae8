"""Assemble the synthetic world into the files each party holds.

:func:`generate` returns every table, keyed by its path relative to the
output folder (``npd/spine.parquet``, ``survey/contacts.parquet``,
``truth/links.parquet`` ...: the catalogue's files,
:mod:`sendlink.schema.catalogue` and :mod:`sendlink.schema.truth`);
:func:`write` writes them all or nothing. The generator is the only writer
of the truth; it never reads it.
One ``numpy.random.Generator`` seeded from ``params.yaml`` is passed in and
split into independent child streams, one per component, so changing one
component's draws does not reshuffle the others.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sendlink import __version__
from sendlink.io import StagedWrites, file_sha256, remove_stale_temporaries
from sendlink.keys import files_fingerprint
from sendlink.params.synth import SynthParams
from sendlink.schema import catalogue, truth
from sendlink.synth import consent_events, corrupt, names, npd, outcomes, survey
from sendlink.synth.geography import (
    LocalAuthorities,
    make_local_authorities,
    make_schools,
    random_addresses,
    random_postcodes,
)
from sendlink.synth.population import (
    MINORITY_ETHNICITIES,
    build_world,
    make_households,
    make_pupils,
)

log = logging.getLogger(__name__)

STREAMS = ("geography", "population", "records", "absence", "attainment", "frame", "outcomes", "extra", "survey", "identifiers", "consent")


@dataclass
class Dataset:
    """Every generated table, keyed by relative path, plus a manifest."""

    tables: dict[str, pd.DataFrame]
    manifest: dict[str, object]


def generator_digest() -> str:
    """SHA-256 of the generator's own code and name lists.

    Part of the fingerprint, so that a change to the generator (not only to
    the parameters) marks existing data as stale.
    """
    folder = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*folder.glob("*.py"), *folder.glob("data/*.csv")]):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def params_fingerprint(synth: SynthParams, seed: int) -> str:
    """SHA-256 of what determines the data: seed, parameters and generator code."""
    text = json.dumps({"seed": seed, "synth": synth.model_dump(mode="json"), "generator": generator_digest()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _std(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() or 1.0)


def generate(synth: SynthParams, seed: int, *, as_of: dt.date, progress: bool = False) -> Dataset:
    """Generate the NPD, the survey, consent events and truth.

    Parameters
    ----------
    synth
        The validated ``synth`` section of ``params.yaml``.
    seed
        The project seed.
    as_of
        The date consent is applied as of (withdrawals happen before it).
    progress
        Show a progress bar (for the command line).
    """
    rng = np.random.default_rng(seed)
    streams = dict(zip(STREAMS, rng.spawn(len(STREAMS)), strict=True))
    p = synth.npd
    steps = tqdm(total=9, desc="synth", disable=None if progress else True, leave=False)

    las = make_local_authorities(p.local_authorities, streams["geography"])
    schools = make_schools(las, p.pupils_per_year_group, p.pupils_per_primary_school, p.pupils_per_secondary_school, p.sen_ehc_share[p.last_census_year], streams["geography"])
    world = build_world(p, las, streams["population"])
    steps.update()
    records = npd.make_records(world, p, las, schools, streams["records"])
    upn = npd.allocate_upns(world, records, las, schools, streams["records"])
    steps.update()

    # Absence and exclusions for everyone, from the generic models.
    model = npd.absence_model(world, records, p, streams["absence"])
    missed = npd.draw_absence(model["mean_logit"], model["possible"], p.absence_year_sd, streams["absence"])
    suspensions, permanent = npd.draw_exclusions(world, records, p, streams["absence"])
    latent = npd.attainment_latent(world, records, streams["attainment"])
    attainment = npd.make_attainment(world, records, p, latent, streams["attainment"])
    steps.update()

    # The frame and its potential answers; then the planted outcomes.
    frame = _frame(world, records, upn, las, schools, synth, streams["frame"])
    answers = survey.potential_answers(frame, streams["frame"])
    frame = pd.concat([frame, answers], axis=1)
    frame = _plant_outcomes(frame, records, model, missed, suspensions, synth, p.absence_year_sd, streams["outcomes"])
    ks4 = _ks4(world, records, latent, frame, schools, synth, streams["attainment"])
    steps.update()

    # Children recruited outside the NPD (independent special schools).
    extra = _not_in_npd(synth, las, streams["extra"])
    if len(extra):
        extra = pd.concat([extra, survey.potential_answers(extra, streams["extra"])], axis=1)
        extra["wellbeing_w2"] = outcomes.wellbeing_scores(synth.outcomes.wellbeing, _terms(extra), streams["extra"])

    # Sample, response, weights.
    sampled = survey.draw_sample(frame, synth.survey, streams["survey"])
    if len(extra):
        extra = extra.assign(strand="face_to_face", stratum="E_independent", selection_probability=0.5)
        sampled = pd.concat([sampled, extra], ignore_index=True)
    sampled = survey.respond(sampled.reset_index(drop=True), synth.survey, streams["survey"])
    ids = streams["survey"].choice(np.arange(100000, 1000000), len(sampled), replace=False)
    sampled.insert(0, "survey_id", [f"SF{i}" for i in ids])
    sampled = sampled.sort_values("survey_id", kind="stable").reset_index(drop=True)
    for wave, window in (("w1", synth.survey.wave1_dates), ("w2", synth.survey.wave2_dates), ("w3", synth.survey.wave3_dates)):
        sampled[f"{wave}_date"] = np.where(sampled[f"{wave}_responded"], survey.interview_dates(len(sampled), window, streams["survey"]), None)
    steps.update()

    responding = sampled[sampled["w1_responded"]].reset_index(drop=True)
    contacts, differences, true_ids = _contacts(responding, world, records, upn, schools, synth, streams["identifiers"])
    steps.update()

    consent_cases = responding.assign(
        yp_date_of_birth=true_ids["date_of_birth"].to_numpy(),
        w1_date=responding["w1_date"], w2_date=responding["w2_date"], w3_date=responding["w3_date"],
    )
    ce = consent_events.make_consent_events(consent_cases, synth.consent, as_of, streams["consent"])
    rr = consent_events.make_rights_requests(responding, ce, contacts, true_ids, synth.consent.rights_requests, as_of, streams["consent"],
                                             refused_objections=synth.consent.refused_objections,
                                             extended_access=synth.consent.extended_access_requests)
    steps.update()

    tables: dict[str, pd.DataFrame] = {}
    tables.update(_npd_tables(world, records, upn, las, schools, model["possible"], missed, suspensions, permanent, attainment, ks4))
    steps.update()
    tables.update(_survey_tables(sampled, contacts, ce, rr, streams["survey"]))
    tables.update(_truth_tables(sampled, frame, differences, upn, world, synth))
    steps.update()
    steps.close()
    manifest = {
        "generator": f"sendlink {__version__}",
        "seed": seed,
        "params_sha256": params_fingerprint(synth, seed),
        "consent_as_of": as_of.isoformat(),
        "rows": {k: int(len(v)) for k, v in sorted(tables.items())},
    }
    return Dataset(tables, manifest)


# --- the frame and the planted outcomes --------------------------------------------


def _frame(world, records, upn, las: LocalAuthorities, schools, synth: SynthParams, rng) -> pd.DataFrame:
    p = synth.npd
    s = synth.survey
    t = records.col(s.frame_year)
    pupils = world.pupils
    prov = npd.provision_at(records, s.frame_year)
    in_frame = (pupils["birth_year"].to_numpy() == p.cohort_birth_year) & records.present[:, t] & np.isin(prov, ["E", "K"])
    rows = np.flatnonzero(in_frame)
    la_idx = records.la[rows, t]
    school_idx = records.school[rows, t]
    frame = pd.DataFrame(
        {
            "pid": rows,
            "upn": upn[rows],
            "provision": prov[rows],
            "ehc": prov[rows] == "E",
            "fsm": records.fsm[rows, t],
            "eal": pupils["eal"].to_numpy()[rows],
            "ethnicity": pupils["ethnicity"].to_numpy()[rows],
            "minority": np.isin(pupils["ethnicity"].to_numpy()[rows], MINORITY_ETHNICITIES),
            "idaci_decile": records.idaci[rows, t].astype(float),
            "primary_need": records.need[rows, t],
            "sex": pupils["sex"].to_numpy()[rows],
            "male": pupils["sex"].to_numpy()[rows] == "M",
            "la_code": las.table["la_code"].to_numpy()[la_idx],
            "region": las.table["region"].to_numpy()[la_idx],
            "school_urn": schools["school_urn"].to_numpy()[school_idx],
            "special_school": schools["phase"].to_numpy()[school_idx] == "special",
        }
    )
    frame["seldom_heard"] = frame["fsm"] | frame["minority"]
    for col in ("sen_latent", "ability", "school_experience"):
        frame[f"{col}_std"] = _std(pupils[col].to_numpy()[rows])
    return frame


def _terms(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    fsm = frame["fsm"].to_numpy(dtype=float)
    unmet = frame["unmet_need_w1"].to_numpy(dtype=float)
    return {
        "unmet_need": unmet,
        "ehc": frame["ehc"].to_numpy(dtype=float),
        "satisfaction": frame["satisfaction_w1"].to_numpy(dtype=float) - 3.0,
        "unmet_need_x_fsm": unmet * fsm,
        "unmet_need_x_school_experience": unmet * frame["school_experience_std"].to_numpy(),
        "fsm": fsm,
        "school_experience": frame["school_experience_std"].to_numpy(),
        "sen_latent": frame["sen_latent_std"].to_numpy(),
        "ability": frame["ability_std"].to_numpy(),
        "male": frame["male"].to_numpy(dtype=float),
        "special_school": frame["special_school"].to_numpy(dtype=float),
    }


def _plant_outcomes(frame, records, model, missed, suspensions, synth: SynthParams, rate_sd, rng) -> pd.DataFrame:
    """Overwrite Years 10-11 absence and suspensions of frame pupils with the
    planted models; add wave-2 wellbeing. Pupils not present in both years
    keep the generic records (and no planted outcome)."""
    cohort = synth.npd.cohort_birth_year
    y10, y11 = cohort + 16, cohort + 17
    if y11 > records.years[-1]:
        raise ValueError("the census years must reach the cohort's Year 11")
    t10, t11 = records.col(y10), records.col(y11)
    rows = frame["pid"].to_numpy()
    both = records.present[rows, t10] & records.present[rows, t11]
    terms = _terms(frame)
    sel = {k: v[both] for k, v in terms.items()}
    r = rows[both]
    possible = model["possible"][r][:, [t10, t11]]
    rate_logit = model["mean_logit"][r][:, [t10, t11]].mean(axis=1)
    pa, sessions = outcomes.persistent_absence_sessions(synth.outcomes.persistent_absence, sel, possible, rate_logit, rate_sd, rng)
    missed[r, t10], missed[r, t11] = sessions[:, 0], sessions[:, 1]
    counts = outcomes.suspension_counts(synth.outcomes.suspensions, sel, rng)
    suspensions[r, t10], suspensions[r, t11] = counts[:, 0], counts[:, 1]
    frame = frame.copy()
    frame["outcomes_present"] = both
    frame["persistent_absence_y10_11"] = pd.array(np.where(both, False, pd.NA), dtype="boolean")
    frame.loc[both, "persistent_absence_y10_11"] = pa
    frame["suspensions_y10_11"] = pd.array(np.full(len(frame), pd.NA), dtype="Int64")
    frame.loc[both, "suspensions_y10_11"] = counts.sum(axis=1)
    frame["wellbeing_w2"] = outcomes.wellbeing_scores(synth.outcomes.wellbeing, terms, rng)
    return frame


def _ks4(world, records, latent, frame, schools, synth: SynthParams, rng) -> pd.DataFrame:
    """Attainment 8 for Year 11 pupils in the census years.

    Every year group gets the generic model, calibrated to the published
    group means; the cohort's frame pupils get the planted terms on top,
    centred over the frame so the group means stay near the published ones.
    """
    p = synth.npd
    pupils = world.pupils
    phase = schools["phase"].to_numpy()
    parts = []
    for birth in p.birth_years:
        year = birth + 17
        if year > records.years[-1] or year < records.years[0]:
            continue
        t = records.col(year)
        here = np.flatnonzero((pupils["birth_year"].to_numpy() == birth) & records.present[:, t])
        prov = npd.provision_at(records, year)[here]
        special = phase[np.maximum(records.school[here, t], 0)] == "special"
        extra = np.zeros(len(here))
        if birth == p.cohort_birth_year:
            coefs = synth.outcomes.attainment8
            pos = pd.Series(np.arange(len(frame)), index=frame["pid"].to_numpy())
            in_frame = np.isin(here, frame["pid"].to_numpy())
            if in_frame.any():
                terms = _terms(frame.iloc[pos[here[in_frame]].to_numpy()])
                planted = sum(value * terms[name] for name, value in coefs.items())
                extra[in_frame] = planted - planted.mean()
        score = npd.attainment8(latent[here], prov, records.fsm[here, t], special, p, rng, extra)
        parts.append(pd.DataFrame({"pid": here, "year": year, "attainment8": score}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["pid", "year", "attainment8"])


def _not_in_npd(synth: SynthParams, las: LocalAuthorities, rng) -> pd.DataFrame:
    """Cohort children at independent special schools (not in the NPD)."""
    n = synth.survey.not_in_npd_cases
    if n == 0:
        return pd.DataFrame()
    p = synth.npd
    households = make_households(n, p, las, rng)
    pupils = make_pupils(households, np.arange(n), np.full(n, p.cohort_birth_year), np.zeros(n, bool), p, rng)
    la_idx = households["la_index"].to_numpy()
    need = np.array(list(p.need_type_ehc), dtype=object)[rng.choice(len(p.need_type_ehc), n, p=np.array(list(p.need_type_ehc.values())) / sum(p.need_type_ehc.values()))]
    out = pd.DataFrame(
        {
            "pid": -1 - np.arange(n),
            "upn": None,
            "provision": "E",
            "ehc": True,
            "fsm": False,
            "eal": pupils["eal"].to_numpy(),
            "ethnicity": pupils["ethnicity"].to_numpy(),
            "minority": np.isin(pupils["ethnicity"].to_numpy(), MINORITY_ETHNICITIES),
            "idaci_decile": np.nan,
            "primary_need": need,
            "sex": pupils["sex"].to_numpy(),
            "male": pupils["sex"].to_numpy() == "M",
            "la_code": las.table["la_code"].to_numpy()[la_idx],
            "region": las.table["region"].to_numpy()[la_idx],
            "school_urn": None,
            "special_school": True,
            "seldom_heard": False,
            "sen_latent_std": _std(pupils["sen_latent"].to_numpy()) + 1.0,
            "ability_std": _std(pupils["ability"].to_numpy()) - 0.8,
            "school_experience_std": _std(pupils["school_experience"].to_numpy()),
            "outcomes_present": False,
        }
    )
    # Keep their true identifiers alongside (they exist in no NPD table).
    pcs = random_postcodes(las.table["postcode_area"].to_numpy()[la_idx], rng)
    out["_true_forename"] = pupils["forename"].to_numpy()
    out["_true_middle_names"] = pupils["middle_names"].to_numpy()
    out["_true_surname"] = pupils["surname"].to_numpy()
    out["_true_dob"] = pupils["date_of_birth"].astype(str).to_numpy()
    out["_true_postcode"] = pcs
    out["_origin"] = pupils["origin"].to_numpy()
    return out


# --- identifiers as the survey holds them ---------------------------------------------------


def _contacts(responding, world, records, upn, schools, synth: SynthParams, rng):
    pupils = world.pupils
    t = records.col(synth.survey.frame_year)
    pid = responding["pid"].to_numpy()
    in_npd = pid >= 0
    safe = np.where(in_npd, pid, 0)
    household = pupils["household"].to_numpy()[safe]
    offset = synth.npd.first_census_year - world.first_year
    last_present = np.where(records.present[safe].any(axis=1), records.present.shape[1] - 1 - records.present[safe][:, ::-1].argmax(axis=1), t)
    pc_now = world.postcodes[household, offset + t]
    pc_npd = world.postcodes[household, offset + last_present]
    school_now = schools["school_urn"].to_numpy()[np.maximum(records.school[safe, t], 0)]
    school_npd = schools["school_urn"].to_numpy()[np.maximum(records.school[safe, last_present], 0)]

    def pick(npd_col: str, extra_col: str) -> np.ndarray:
        return np.where(in_npd, pupils[npd_col].to_numpy()[safe], responding.get(extra_col, pd.Series([None] * len(responding))).to_numpy())

    true = pd.DataFrame(
        {
            "forename": pick("forename", "_true_forename"),
            "middle_names": pick("middle_names", "_true_middle_names"),
            "surname": pick("surname", "_true_surname"),
            "date_of_birth": np.where(in_npd, pupils["date_of_birth"].astype(str).to_numpy()[safe], responding.get("_true_dob", pd.Series([None] * len(responding))).to_numpy()),
            "sex": responding["sex"].to_numpy(),
            "postcode": np.where(in_npd, pc_now, responding.get("_true_postcode", pd.Series([None] * len(responding))).to_numpy()),
            "school_urn": np.where(in_npd, school_now, ""),
            "npd_postcode": np.where(in_npd, pc_npd, responding.get("_true_postcode", pd.Series([None] * len(responding))).to_numpy()),
            "npd_school_urn": np.where(in_npd, school_npd, ""),
        }
    )
    origin = np.where(in_npd, pupils["origin"].to_numpy()[safe], responding.get("_origin", pd.Series(["british"] * len(responding))).to_numpy())
    reported, diff_log = corrupt.report_identifiers(true, responding["eal"].to_numpy(), origin, responding["sex"].to_numpy(), synth.identifiers, rng)
    n = len(responding)
    # The parent's own contact details (the survey organisation's holdings).
    parent_sex = np.where(rng.random(n) < 0.85, "F", "M")
    parent_fore = np.empty(n, dtype=object)
    for o in np.unique(origin):
        for s in ("F", "M"):
            rows = np.flatnonzero((origin == o) & (parent_sex == s))
            if len(rows) == 0:
                continue
            if o == "british":
                from faker.providers.person.en_GB import Provider as GB

                pool = np.array(sorted(GB.first_names_female if s == "F" else GB.first_names_male), dtype=object)
                parent_fore[rows] = pool[rng.integers(0, len(pool), len(rows))]
            else:
                parent_fore[rows] = names.forename_pool(o, s, 0.5, 0.0).sample(len(rows), rng)
    family = true["surname"].to_numpy(dtype=object)
    parent_sur = np.where(rng.random(n) < 0.15, names.surname_pool("british", 0.5, 0.6).sample(n, rng), family)
    parent_sur = np.array([names.feminine_surname(su.replace("ska", "ski").replace("cka", "cki"), o) if s == "F" else su for su, o, s in zip(parent_sur, origin, parent_sex, strict=True)], dtype=object)
    email_user = [_ascii(f"{f}.{s}").lower().replace(" ", "").replace("'", "") for f, s in zip(parent_fore, parent_sur, strict=True)]
    email = np.array([f"{u}{rng.integers(1, 99)}@example.org" for u in email_user], dtype=object)
    phone = np.array([f"07700 900{rng.integers(0, 1000):03d}" for _ in range(n)], dtype=object)
    contacts = pd.DataFrame({"survey_id": responding["survey_id"].to_numpy()}).join(reported)
    contacts["parent_forename"] = parent_fore
    contacts["parent_surname"] = parent_sur
    contacts["address_line"] = random_addresses(n, rng)
    contacts["email"] = email
    contacts["phone"] = phone
    differences = diff_log.frame(responding["survey_id"].to_numpy())
    return contacts, differences, true


def _ascii(text: str) -> str:
    """Email addresses are ASCII in practice: fold diacritics (ł, ı have no
    decomposition, so they are mapped by hand)."""
    import unicodedata

    text = text.translate(str.maketrans({"ł": "l", "Ł": "L", "ı": "i", "ø": "o", "ß": "ss"}))
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


# --- tables ------------------------------------------------------------------------------


def _long(records, mask: np.ndarray, upn: np.ndarray, columns: dict[str, np.ndarray], order: np.ndarray | None = None) -> pd.DataFrame:
    """Pupil x year matrices to a long table sorted by UPN, then year.

    Rows are visited in UPN order (``np.nonzero`` walks row-major), so the
    output needs no sort.
    """
    if order is None:
        order = np.argsort(upn.astype(str), kind="stable")
    rows, cols = np.nonzero(mask[order])
    rows = order[rows]
    out = pd.DataFrame({"upn": upn[rows], "academic_year": npd.academic_year_label(records.years[cols])})
    for name, matrix in columns.items():
        out[name] = matrix[rows, cols]
    return out


def _npd_tables(world, records, upn, las, schools, possible, missed, suspensions, permanent, attainment, ks4) -> dict[str, pd.DataFrame]:
    pupils = world.pupils
    present = records.present
    n = len(pupils)
    ever = present.any(axis=1)
    offset = records.years[0] - world.first_year
    household = pupils["household"].to_numpy()
    last = present.shape[1] - 1 - present[:, ::-1].argmax(axis=1)
    la_codes = las.table["la_code"].to_numpy()
    urns = schools["school_urn"].to_numpy()
    spine = pd.DataFrame(
        {
            "upn": upn,
            "forename": pupils["forename"].to_numpy(),
            "middle_names": pupils["middle_names"].to_numpy(),
            "surname": pupils["surname"].to_numpy(),
            "date_of_birth": pupils["date_of_birth"].astype(str).to_numpy(),
            "sex": pupils["sex"].to_numpy(),
            "postcode": world.postcodes[household, offset + last],
            "school_urn": urns[np.maximum(records.school[np.arange(n), last], 0)],
        }
    )[ever].sort_values("upn").reset_index(drop=True)
    pcs = world.postcodes[household, offset:]
    order = np.argsort(upn.astype(str), kind="stable")
    history = _long(records, present, upn, {"postcode": pcs}, order)
    fsm = records.fsm
    school_urn = np.where(records.school >= 0, urns[np.maximum(records.school, 0)], "")
    eal = np.broadcast_to(pupils["eal"].to_numpy()[:, None], present.shape)
    eth = np.broadcast_to(pupils["ethnicity"].to_numpy()[:, None], present.shape)
    census = _long(
        records,
        present,
        upn,
        {
            "ncyear": records.ncyear,
            "la_code": la_codes[records.la],
            "school_urn": school_urn,
            "sen_provision": records.provision,
            "primary_sen_type": records.need,
            "fsm_eligible": fsm,
            "ever_fsm_6": records.ever_fsm6,
            "eal": eal,
            "ethnicity_major": eth,
            "idaci_decile": records.idaci,
        },
        order,
    )
    census.insert(2, "census_term", "spring")
    unauth_share = np.clip(0.25 + 0.15 * fsm, 0, 1)
    # The authorised/unauthorised split is a deterministic share (not a
    # draw), so it adds no randomness of its own.
    unauthorised = np.rint(missed * unauth_share).astype(int)
    absence = _long(
        records,
        present,
        upn,
        {"sessions_possible": possible, "sessions_authorised": missed - unauthorised, "sessions_unauthorised": unauthorised},
        order,
    )
    events = present & ((suspensions > 0) | permanent)
    exclusions = _long(records, events, upn, {"suspensions": suspensions, "permanent_exclusion": permanent}, order)

    def module(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        out.insert(0, "upn", upn[out.pop("pid").to_numpy()])
        out.insert(1, "academic_year", npd.academic_year_label(out.pop("year").to_numpy()))
        return out.sort_values(["upn"], kind="stable").reset_index(drop=True)

    tables = {
        _key(catalogue.NPD_SPINE): spine,
        _key(catalogue.POSTCODE_HISTORY): history,
        _key(catalogue.CENSUS): census,
        _key(catalogue.ABSENCE): absence,
        _key(catalogue.EXCLUSIONS): exclusions,
        _key(catalogue.EYFSP): module(attainment["eyfsp"]),
        _key(catalogue.PHONICS): module(attainment["phonics"]),
        _key(catalogue.KS1): module(attainment["ks1"]),
        _key(catalogue.KS2): module(attainment["ks2"]),
        _key(catalogue.KS4): module(ks4),
        _key(catalogue.SCHOOLS): schools.sort_values("school_urn").reset_index(drop=True),
        _key(catalogue.LOCAL_AUTHORITIES): las.table[["la_code", "la_name", "region"]].copy(),
    }
    return tables


#: Share of answers to a question that are "don't know" or refused (assumed).
ITEM_NONRESPONSE = 0.015


def _answers(sampled: pd.DataFrame, mask_col: str, date_col: str, columns: dict[str, str], rng: np.random.Generator, optional: tuple[str, ...] = ()) -> pd.DataFrame:
    """Observed answers of the respondents; ``optional`` items may be missing."""
    rows = sampled[sampled[mask_col]]
    out = pd.DataFrame({"survey_id": rows["survey_id"].to_numpy(), "interview_date": rows[date_col].to_numpy()})
    for new, old in columns.items():
        values = rows[old].to_numpy()
        if new in optional:
            kind = "boolean" if values.dtype == bool else "Int64"
            values = pd.array(values, dtype=kind)
            values[rng.random(len(values)) < ITEM_NONRESPONSE] = pd.NA
        out[new] = values
    return out


def _survey_tables(sampled: pd.DataFrame, contacts, ce, rr, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    s = sampled
    sample = pd.DataFrame(
        {
            "survey_id": s["survey_id"],
            "stratum": s["stratum"],
            "strand": s["strand"],
            "selection_probability": s["selection_probability"].round(6),
            "design_weight": s["design_weight"].round(6),
            "frame_sen_provision": s["provision"],
            "frame_primary_need": s["primary_need"],
            "frame_fsm": s["fsm"],
            "frame_eal": s["eal"],
            "frame_ethnicity": s["ethnicity"],
            "frame_idaci_decile": pd.array(s["idaci_decile"].to_numpy(), dtype="Int64"),
            "frame_sex": s["sex"],
            "frame_region": s["region"],
            "w1_responded": s["w1_responded"],
            "w1_breakoff_before_consent": s["w1_breakoff_before_consent"],
            "w1_young_person_responded": s["w1_young_person_responded"],
            "w2_responded": s["w2_responded"],
            "w2_young_person_responded": s["w2_young_person_responded"],
            "w3_responded": s["w3_responded"],
            "w1_weight": s["w1_weight"].round(6),
            "w2_weight": s["w2_weight"].round(6),
        }
    )
    mode = np.where(s["strand"] == "web", "web", "face_to_face")
    s = s.assign(mode=mode, n_support_types=s[[c for c in s.columns if c.startswith("support_")]].sum(axis=1))
    # "Happy with life": 6 or more on the 0-10 scale (an assumed cut that,
    # with the models, gives the published ~72% at wave 1).
    s["yp_happy_w1"] = s["yp_life_satisfaction_w1"] >= 6
    s["yp_happy_w2"] = s["wellbeing_w2"] >= 6
    likert = ("unmet_need", "satisfaction_support", "school_experience", "life_satisfaction", "bullied_last_year", "likes_school")
    parent_w1 = _answers(
        s, "w1_responded", "w1_date",
        {"mode": "mode", "unmet_need": "unmet_need_w1", "satisfaction_support": "satisfaction_w1", "school_experience": "school_experience_w1",
         **{c.removesuffix("_w1"): c for c in s.columns if c.startswith("support_")}, "n_support_types": "n_support_types", "expectation": "expectation_w1"},
        rng, likert,
    )
    yp_w1 = _answers(s, "w1_young_person_responded", "w1_date", {"life_satisfaction": "yp_life_satisfaction_w1", "happy_with_life": "yp_happy_w1", "bullied_last_year": "yp_bullied_w1", "likes_school": "yp_likes_school_w1"}, rng, likert)
    parent_w2 = _answers(s, "w2_responded", "w2_date", {"mode": "mode", "unmet_need": "unmet_need_w2", "satisfaction_support": "satisfaction_w2"}, rng, likert)
    yp_w2 = _answers(s, "w2_young_person_responded", "w2_date", {"life_satisfaction": "wellbeing_w2", "happy_with_life": "yp_happy_w2", "bullied_last_year": "yp_bullied_w2"}, rng, likert)
    for frame in (yp_w1, yp_w2):
        # "Happy with life" is derived from life satisfaction, so it is
        # missing exactly when life satisfaction is.
        frame["happy_with_life"] = pd.array(frame["life_satisfaction"] >= 6, dtype="boolean")
    return {
        _key(catalogue.SAMPLE): sample,
        _key(catalogue.CONTACTS): contacts.sort_values("survey_id").reset_index(drop=True),
        _key(catalogue.PARENT_W1): parent_w1,
        _key(catalogue.YOUNG_PERSON_W1): yp_w1,
        _key(catalogue.PARENT_W2): parent_w2,
        _key(catalogue.YOUNG_PERSON_W2): yp_w2,
        _key(catalogue.CONSENT_EVENTS): ce,
        _key(catalogue.RIGHTS_REQUESTS): rr,
    }


def _truth_tables(sampled, frame, differences, upn, world, synth: SynthParams) -> dict[str, pd.DataFrame]:
    resp = sampled[sampled["w1_responded"]]
    in_npd = resp["pid"].to_numpy() >= 0
    pupils = world.pupils
    twin = np.zeros(len(resp), bool)
    twin[in_npd] = pupils["twin"].to_numpy()[resp["pid"].to_numpy()[in_npd]]
    links = pd.DataFrame({"survey_id": resp["survey_id"].to_numpy(), "upn": np.where(in_npd, resp["upn"].to_numpy(), None), "in_npd": in_npd, "twin": twin})
    sid = sampled.set_index("pid")["survey_id"]
    fr = frame.copy()
    fr.insert(1, "survey_id", fr["pid"].map(sid).astype(object).where(fr["pid"].isin(sid.index), None))
    keep = [c for c in fr.columns if c not in ("pid",)]
    effects = pd.DataFrame(outcomes.planted_effects_table(synth.outcomes))
    return {
        _key(truth.TRUE_LINKS): links,
        _key(truth.IDENTIFIER_DIFFERENCES): differences,
        _key(truth.TRUE_FRAME): fr[keep].reset_index(drop=True),
        _key(truth.TRUE_EFFECTS): effects,
    }


def _key(file: catalogue.File) -> str:
    """A file's path inside the synthetic world's folder (how :class:`Dataset` keys its tables)."""
    return file.relative_to(catalogue.SYNTHETIC)


def write(dataset: Dataset, out_dir: str | Path) -> list[Path]:
    """Write every table under ``out_dir`` (the synthetic world's folder), all or nothing.

    The tables hold identifiers (and the truth), so they are written
    owner-only. The manifest lists every file written with its SHA-256 and
    a fingerprint of that list: it is how :func:`sendlink.keys.recognise_world`
    knows the generator's own world (the only data the public demo keys are
    allowed for). A file in ``npd/`` or ``survey/`` that the generator did
    not write is left alone, and the world is then not recognised.
    """
    out_dir = Path(out_dir)
    finals = [out_dir / rel for rel in sorted(dataset.tables)] + [out_dir / _key(catalogue.MANIFEST)]
    remove_stale_temporaries(finals)
    written = []
    with StagedWrites(private=True) as out:
        for rel, frame in sorted(dataset.tables.items()):
            written.append(out.table(frame, out_dir / rel))
        files = {rel: file_sha256(out.temporary(out_dir / rel)) for rel in sorted(dataset.tables)}
        manifest = {**dataset.manifest, "files": files, "files_sha256": files_fingerprint(files)}
        written.append(out.json(manifest, out_dir / _key(catalogue.MANIFEST), private=False))
    return written
