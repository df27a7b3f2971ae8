"""The NPD's census history: every postcode and school a pupil had, for the comparison.

Stage ``link``, run by DfE. The school census records each pupil's home
postcode and school every year; the NPD spine keeps only the latest. A
family that moved, or a child who changed school, after the survey's
answers were given (or before the latest census) then disagrees with the
spine on both fields although the survey is right about the year it was
asked. **In:** an optional *history* file, one row per pupil and census:
``upn``, the census (``academic_year`` as a year, or ``census_date`` /
``census_year``), ``postcode`` and/or ``school_urn`` (CSV or Parquet, by
extension; other columns are ignored). **Out:** a :class:`History`, per NPD
record the postcodes (as :func:`sendlink.link.features.postcode_codes`
codes) and schools (in the spines' shared school vocabulary) of its
censuses within ``window_years`` of its latest census in the file; the
comparison levels ``postcode_history`` and ``school_history``
(:mod:`sendlink.link.compare`) ask it whether the survey's value is one of
them.

Without a history file nothing here runs and both levels are missing for
every pair: the model leaves them out and the linker behaves as it does
without them. History rows whose UPN is not in the NPD spine are ignored
(with a count in the log); a school in the history that neither spine holds
can never agree with the survey, so it is dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sendlink.errors import InputError
from sendlink.io import read_table
from sendlink.link.features import Features, postcode_codes
from sendlink.link.spine import RawSpine
from sendlink.link.standardise import _clean_urn

__all__ = ["HISTORY_COLUMNS", "History", "attach_history", "history_table", "read_history"]

log = logging.getLogger(__name__)

#: The history contract: the key, one census column, and at least one of postcode and school_urn.
HISTORY_COLUMNS = ("upn", "academic_year", "census_date", "census_year", "postcode", "school_urn")
_CENSUS_COLUMNS = ("academic_year", "census_year", "census_date")


@dataclass
class History:
    """Per NPD record (CSR over records): its postcodes and schools within the window.

    Attributes
    ----------
    indptr
        ``postcodes[indptr[r]:indptr[r + 1]]`` are record ``r``'s (the same
        for ``schools``); ``-1`` where a census lacks the field.
    postcodes, schools
        Unit codes and school codes, aligned.
    window_years
        Censuses up to this many years before the pupil's latest are kept.
    pupils
        NPD records with at least one census in the history.
    """

    indptr: np.ndarray
    postcodes: np.ndarray
    schools: np.ndarray
    window_years: float
    pupils: int

    def _values(self, field: str) -> np.ndarray:
        return self.postcodes if field == "postcode" else self.schools

    def has(self, field: str, rows: np.ndarray) -> np.ndarray:
        """Whether each NPD record has any value of ``field`` in its history."""
        key = f"_has_{field}"
        table = getattr(self, key, None)
        if table is None:
            values = self._values(field)
            counts = np.add.reduceat((values >= 0).astype(np.int64), self.indptr[:-1]) if len(values) else np.zeros(len(self.indptr) - 1, np.int64)
            counts = np.where(np.diff(self.indptr) > 0, counts, 0)
            table = counts > 0
            setattr(self, key, table)
        return table[np.asarray(rows, dtype=np.int64)]

    def contains(self, field: str, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Whether ``values[i]`` is among record ``rows[i]``'s ``field`` values (vectorised)."""
        rows = np.asarray(rows, dtype=np.int64)
        values = np.asarray(values, dtype=np.int64)
        start, stop = self.indptr[rows], self.indptr[rows + 1]
        counts = stop - start
        out = np.zeros(len(rows), dtype=bool)
        total = int(counts.sum())
        if total == 0:
            return out
        owner = np.repeat(np.arange(len(rows)), counts)
        offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        held = self._values(field)[np.repeat(start, counts) + offsets]
        hit = (held >= 0) & (held == values[owner])
        out[np.unique(owner[hit])] = True
        return out


def read_history(path: str | Path) -> pd.DataFrame:
    """Read and check a history file (see the module docstring for its columns).

    Raises
    ------
    InputError
        The file cannot be read, lacks ``upn``, a census column, or both of
        ``postcode`` and ``school_urn``, or has census values that are not
        years or dates (naming the rows).
    """
    frame = read_table(path, dtype_str=True) if str(path).lower().endswith(".csv") else read_table(path)
    return history_table(frame, path)


def history_table(frame: pd.DataFrame, path: str | Path = "history") -> pd.DataFrame:
    """Check a history table already in memory (:func:`read_history`'s rules; ``path`` names it in errors).

    Returns ``upn, year, postcode, school_urn`` with ``year`` a number
    (``2021/22`` -> 2021; a census date -> its year and fraction).
    """
    if "upn" not in frame.columns:
        raise InputError(path, "missing required column: upn", column="upn")
    census = next((c for c in _CENSUS_COLUMNS if c in frame.columns), None)
    if census is None:
        raise InputError(path, f"missing a census column: one of {', '.join(_CENSUS_COLUMNS)}", column="academic_year")
    if "postcode" not in frame.columns and "school_urn" not in frame.columns:
        raise InputError(path, "needs postcode or school_urn (or both)", column="postcode")
    # Parsed per distinct value (a few census years against millions of rows).
    codes, uniques = pd.factorize(frame[census], use_na_sentinel=True)
    texts = pd.Series([str(v).strip() for v in uniques], dtype=object)
    if census == "census_date":
        dates = pd.to_datetime(texts.where(texts != ""), errors="coerce", format="mixed")
        parsed = (dates.dt.year + (dates.dt.dayofyear - 1) / 365.25).to_numpy(float)
    else:
        parsed = pd.to_numeric(texts.str.slice(0, 4).where(texts != ""), errors="coerce").to_numpy(float)
    bad_values = np.flatnonzero(np.isnan(parsed) & (texts != "").to_numpy())
    if len(bad_values):
        bad = np.flatnonzero(np.isin(codes, bad_values))
        raise InputError(path, f"{census} must be a year (2022) or a date (2022-01-20)", column=census,
                         rows=[int(i) for i in bad[:20]], values=texts[bad_values[:5]].tolist())
    years = np.append(parsed, np.nan)[np.where(codes < 0, len(parsed), codes)]
    upn = frame["upn"] if frame["upn"].dtype == object else frame["upn"].astype(object)
    out = pd.DataFrame({"upn": upn.where(upn.notna(), "").astype(str), "year": years})
    for column in ("postcode", "school_urn"):
        out[column] = frame[column].astype(object).where(frame[column].notna(), None) if column in frame.columns else None
    out = out[(out["upn"] != "") & out["year"].notna()].reset_index(drop=True)
    log.info("read %d census row(s) of history for %d pupil(s) from %s", len(out), out["upn"].nunique(), path)
    return out


def _school_codes(features: Features, npd: RawSpine, survey: RawSpine, urns: pd.Series) -> np.ndarray:
    """Codes of history schools in the spines' shared school vocabulary (-1: a school neither spine holds)."""
    lookup: dict[str, int] = {}
    for raw, side in ((survey, features.survey), (npd, features.npd)):
        values = raw.values.get("school_urn")
        if values is None:
            continue
        for value, code in zip(values.tolist(), side.t_school[:-1].tolist(), strict=True):
            clean = _clean_urn(value)
            if clean is not None and code >= 0:
                lookup.setdefault(clean, int(code))
    codes, uniques = pd.factorize(urns, use_na_sentinel=True)
    mapped = np.array([lookup.get(_clean_urn(v), -1) if _clean_urn(v) is not None else -1 for v in uniques] + [-1], dtype=np.int64)
    return mapped[np.where(codes < 0, len(uniques), codes)]


def attach_history(features: Features, survey: RawSpine, npd: RawSpine, history: pd.DataFrame, window_years: float) -> History:
    """Build the :class:`History` of the NPD records and attach it to ``features`` (``features.cache["history"]``).

    ``history`` is :func:`read_history`'s table. Censuses more than
    ``window_years`` before the pupil's latest census in the file are left
    out: an address from long ago says little about who the child is now,
    and a school from primary years even less.
    """
    keys = npd.keys if isinstance(npd.keys, pa.Array) else pa.array(npd.keys)
    row = pc.index_in(pa.array(history["upn"].tolist(), type=pa.string()), value_set=keys.cast(pa.string())).to_numpy(zero_copy_only=False)
    row = np.where(pd.isna(row), -1, row).astype(np.int64)
    unknown = int((row < 0).sum())
    if unknown:
        log.warning("history: %d census row(s) name a UPN that is not in the NPD spine; ignored", unknown)
    keep = row >= 0
    frame = history.loc[keep].assign(row=row[keep])
    latest = frame.groupby("row")["year"].transform("max")
    frame = frame[frame["year"] >= latest - window_years - 1e-9]
    frame = frame.sort_values(["row", "year"], kind="mergesort")
    n = len(npd)
    counts = np.bincount(frame["row"].to_numpy(np.int64), minlength=n)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    postcodes = postcode_codes(pa.array(frame["postcode"].astype(object).where(frame["postcode"].notna(), None).tolist(), type=pa.string()),
                               len(frame), features.long_postcodes).unit if "postcode" in frame and frame["postcode"].notna().any() \
        else np.full(len(frame), -1, dtype=np.int64)
    schools = _school_codes(features, npd, survey, frame["school_urn"]) if frame["school_urn"].notna().any() \
        else np.full(len(frame), -1, dtype=np.int64)
    built = History(indptr=indptr, postcodes=np.asarray(postcodes, dtype=np.int64), schools=schools,
                    window_years=float(window_years), pupils=int((counts > 0).sum()))
    features.cache["history"] = built
    log.info("history: %d census row(s) of %d pupil(s) within %g year(s) of their latest census", len(frame), built.pupils, window_years)
    return built
