"""Integer codes for standardised identifiers, shared by both sides.

Blocking and comparison never touch strings row by row: each identifier is
mapped to an integer code in a vocabulary shared by the survey and the NPD
side (so equal values have equal codes), and string similarity is computed
once per *distinct pair of values*, not once per candidate pair. This is
what keeps the linker vectorised at national scale (9.1 M NPD rows).
Missing is code ``-1`` throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import jellyfish
import numpy as np
import pandas as pd
from scipy import sparse

from sendlink.link.standardise import name_groups

#: How many middle names and surname parts are kept per record (more are
#: very rare; the extra ones are ignored).
MAX_TOKENS = 3


@dataclass
class Side:
    """One side's identifiers as integer codes (``-1`` = missing)."""

    keys: np.ndarray  # the record keys (survey_id or upn), as str objects
    fn: np.ndarray  # first forename token, into Features.names
    fnfull: np.ndarray  # all forename tokens run together, into names
    mid: np.ndarray  # (n, MAX_TOKENS) middle-name tokens, into names
    sn: np.ndarray  # surname run together, into names
    snparts: np.ndarray  # (n, MAX_TOKENS) surname parts, into names
    dob: np.ndarray  # yyyymmdd as int
    year: np.ndarray
    month: np.ndarray
    day: np.ndarray
    sex: np.ndarray  # 0 = F, 1 = M
    pc: np.ndarray  # postcode unit, into Features.postcodes
    sector: np.ndarray
    district: np.ndarray
    school: np.ndarray
    sn_sound: np.ndarray  # phonetic code of the surname
    fn_sound: np.ndarray  # phonetic code of the forename

    def __len__(self) -> int:
        return len(self.keys)

    def present(self, field: str) -> bool:
        """Whether any record has a value for this code column."""
        values = getattr(self, field)
        return bool(len(values)) and bool((values >= 0).any())


@dataclass
class Features:
    """Both sides encoded with shared vocabularies."""

    survey: Side
    npd: Side
    names: np.ndarray  # name strings, indexed by name codes
    postcodes: np.ndarray  # postcode unit strings
    groups: sparse.csr_matrix  # names x nickname/variant groups (0/1)


def _codes(values: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Factorise several object arrays together; None -> -1."""
    lengths = [len(v) for v in values]
    allv = pd.Series(np.concatenate(values) if values else np.array([], dtype=object), dtype=object)
    codes, uniques = pd.factorize(allv, use_na_sentinel=True)
    codes = codes.astype(np.int32)
    out, start = [], 0
    for n in lengths:
        out.append(codes[start:start + n])
        start += n
    return out, np.asarray(uniques, dtype=object)


def _tokens(values: pd.Series) -> np.ndarray:
    """Space-separated strings -> (n, MAX_TOKENS) object array, None-padded."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.full((len(uniques) + 1, MAX_TOKENS), None, dtype=object)
    for i, text in enumerate(uniques):
        for j, token in enumerate(str(text).split()[:MAX_TOKENS]):
            table[i, j] = token
    return table[np.where(codes < 0, len(uniques), codes)]


def _phonetic(values: np.ndarray) -> np.ndarray:
    """Metaphone code of each distinct value (Double Metaphone is not in jellyfish)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    table = np.array([jellyfish.metaphone(str(u)) or None for u in uniques] + [None], dtype=object)
    return table[np.where(codes < 0, len(uniques), codes)]


def encode(survey_std: pd.DataFrame, npd_std: pd.DataFrame, survey_key: str, npd_key: str) -> Features:
    """Encode two standardised spines (see :func:`standardise_spine`)."""
    s, n = survey_std, npd_std
    s_mid, n_mid = _tokens(s["middle"]), _tokens(n["middle"])
    s_parts, n_parts = _tokens(s["surname_parts"]), _tokens(n["surname_parts"])
    name_arrays = [
        s["forename"].to_numpy(object), n["forename"].to_numpy(object),
        s["forename_full"].to_numpy(object), n["forename_full"].to_numpy(object),
        s["surname"].to_numpy(object), n["surname"].to_numpy(object),
        s_mid.ravel(), n_mid.ravel(), s_parts.ravel(), n_parts.ravel(),
    ]
    codes, names = _codes(name_arrays)
    s_fn, n_fn, s_full, n_full, s_sn, n_sn, s_mid_c, n_mid_c, s_parts_c, n_parts_c = codes

    (s_pc, n_pc), postcodes = _codes([s["postcode"].to_numpy(object), n["postcode"].to_numpy(object)])
    (s_sec, n_sec), _ = _codes([s["pc_sector"].to_numpy(object), n["pc_sector"].to_numpy(object)])
    (s_dis, n_dis), _ = _codes([s["pc_district"].to_numpy(object), n["pc_district"].to_numpy(object)])
    (s_sch, n_sch), _ = _codes([s["school"].to_numpy(object), n["school"].to_numpy(object)])
    (s_ss, n_ss), _ = _codes([_phonetic(s["surname"].to_numpy(object)), _phonetic(n["surname"].to_numpy(object))])
    (s_fs, n_fs), _ = _codes([_phonetic(s["forename"].to_numpy(object)), _phonetic(n["forename"].to_numpy(object))])

    # names x groups incidence matrix (nickname and spelling-variant groups).
    rows, cols, labels = [], [], {}
    for i, name in enumerate(names):
        for label in name_groups(str(name)):
            rows.append(i)
            cols.append(labels.setdefault(label, len(labels)))
    groups = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.int8), (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
        shape=(len(names), max(len(labels), 1)),
    )

    def side(std: pd.DataFrame, key: str, fn, full, mid, sn, parts, pc, sec, dis, sch, ss, fs) -> Side:
        year = std["dob_year"].to_numpy(np.int32)
        month = std["dob_month"].to_numpy(np.int32)
        day = std["dob_day"].to_numpy(np.int32)
        dob = np.where(year >= 0, year * 10000 + month * 100 + day, -1).astype(np.int32)
        sex = std["sex"].map({"F": 0, "M": 1}).fillna(-1).to_numpy(np.int8)
        return Side(
            keys=std[key].to_numpy(object),
            fn=fn, fnfull=full, mid=mid.reshape(-1, MAX_TOKENS), sn=sn, snparts=parts.reshape(-1, MAX_TOKENS),
            dob=dob, year=year, month=month, day=day, sex=sex,
            pc=pc, sector=sec, district=dis, school=sch, sn_sound=ss, fn_sound=fs,
        )

    return Features(
        survey=side(s, survey_key, s_fn, s_full, s_mid_c, s_sn, s_parts_c, s_pc, s_sec, s_dis, s_sch, s_ss, s_fs),
        npd=side(n, npd_key, n_fn, n_full, n_mid_c, n_sn, n_parts_c, n_pc, n_sec, n_dis, n_sch, n_ss, n_fs),
        names=names,
        postcodes=postcodes,
        groups=groups,
    )
