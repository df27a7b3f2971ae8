"""How a parent's report of the child's identifiers differs from the NPD.

One function per kind of difference, each applied to a random subset of
records and **recorded per record** (``truth/identifier_differences``), so
the linkage-quality report can show which differences cause missed matches
(the habit of Splink's synthetic-data project). Kinds:

forename
    ``nickname`` (Alfie for Alfred), ``spelling_variant`` (Muhammad /
    Mohammed), ``typo``, ``middle_name_as_forename`` (the name the child
    goes by), ``missing``.
surname
    ``typo``, ``changed`` (a new surname, e.g. a step-parent's),
    ``double_barrel_one_part``, ``double_barrel_spaced``, ``missing``.
names
    ``transposed``: forename and surname written in each other's boxes.
date_of_birth
    ``day_month_swapped``, ``day_off``, ``month_off``, ``year_off``,
    ``missing``.
postcode
    ``moved_house`` (the family moved between the survey and the NPD's
    latest census; not injected, observed), ``typo``, ``missing``.
sex
    ``missing``, ``wrong``.
school_urn
    ``changed_school`` (observed), ``missing``.
naming conventions (docs/DOMAIN.md, "Names in England's communities")
    ``surname: title_name`` (Begum/Khatun, Kaur/Singh reported as or beside
    the surname), ``surname: patronymic`` (a Somali child's father's given
    name as the surname), ``names: family_name_first`` (Chinese names in
    their own order), ``forename: other_given_name_first`` (a British-Chinese
    child's other given name, English or Chinese, given first),
    ``forename: short_form`` (Seun for Oluwaseun),
    ``forename``/``surname: diacritics_dropped``, ``surname: prefix_form``
    (McDonald~MacDonald, O'Brien~OBrien).
any text field
    ``formatting`` (capitals, spacing, punctuation): not a real difference,
    recorded so that it can be ignored in analyses of errors.

EAL families have higher rates of variants, typos and date slips
(``eal_multiplier``), as transliteration and form-filling in a second
language make them likelier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sendlink.params.synth import IdentifierParams
from sendlink.synth import names

_KEYBOARD = {
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop", "m": "njk", "n": "bhjm",
    "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz", "t": "rfgy", "u": "yhji",
    "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}


class DifferenceLog:
    """Collects (row, field, difference) records as differences are applied."""

    def __init__(self) -> None:
        self._rows: list[np.ndarray] = []
        self._fields: list[str] = []
        self._kinds: list[str] = []

    def add(self, rows: np.ndarray, field: str, kind: str) -> None:
        rows = np.asarray(rows)
        if len(rows):
            self._rows.append(rows)
            self._fields.append(field)
            self._kinds.append(kind)

    def frame(self, ids: np.ndarray) -> pd.DataFrame:
        if not self._rows:
            return pd.DataFrame({"survey_id": [], "field": [], "difference": []}, dtype=object)
        parts = [
            pd.DataFrame({"row": r, "field": f, "difference": k})
            for r, f, k in zip(self._rows, self._fields, self._kinds, strict=True)
        ]
        out = pd.concat(parts, ignore_index=True).drop_duplicates()
        out.insert(0, "survey_id", ids[out.pop("row").to_numpy()])
        return out.sort_values(["survey_id", "field", "difference"], kind="stable").reset_index(drop=True)


def typo(word: str, rng: np.random.Generator) -> str:
    """One keyboard slip: substitute a neighbouring key, drop, double or swap a letter.

    The first letter is kept (people rarely mistype it). A slip that leaves
    the word unchanged (swapping the two n's of "Anna") is drawn again, so
    every recorded typo is a real difference.
    """
    for _ in range(10):
        out = _one_slip(word, rng)
        if out != word:
            return out
    return word + word[-1] if word else word


def _one_slip(word: str, rng: np.random.Generator) -> str:
    if len(word) < 3:
        return word + word[-1] if word else word
    i = int(rng.integers(1, len(word)))
    op = int(rng.integers(0, 4))
    ch = word[i]
    if op == 0 and ch.lower() in _KEYBOARD:
        options = _KEYBOARD[ch.lower()]
        new = options[int(rng.integers(0, len(options)))]
        return word[:i] + (new.upper() if ch.isupper() else new) + word[i + 1 :]
    if op == 1:
        return word[:i] + word[i + 1 :]
    if op == 2:
        return word[:i] + ch + word[i:]
    if i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


def _pick(n: int, rate: np.ndarray | float, rng: np.random.Generator, eligible: np.ndarray | None = None) -> np.ndarray:
    draw = rng.random(n) < rate
    if eligible is not None:
        draw &= eligible
    return np.flatnonzero(draw)


def _format_noise(value: str, rng: np.random.Generator) -> str:
    kind = int(rng.integers(0, 5))
    if kind == 0:
        return value.upper()
    if kind == 1:
        return value.lower()
    if kind == 2:
        return f" {value}  "
    if kind == 3:
        return value.replace("'", "").replace("-", " ")
    return value.replace(" ", "  ")


def report_identifiers(
    true: pd.DataFrame,
    eal: np.ndarray,
    origin: np.ndarray,
    sex_true: np.ndarray,
    p: IdentifierParams,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, DifferenceLog]:
    """Make the parent's report from the true identifiers.

    Parameters
    ----------
    true
        One row per case: forename, middle_names, surname, date_of_birth
        (ISO), sex, postcode, school_urn as they were true at the survey,
        plus ``npd_postcode`` and ``npd_school_urn`` (the NPD's latest) to
        record moves and school changes, which are observed, not injected.
    eal
        Whether the family has English as an additional language.

    Returns
    -------
    The reported identifiers (same columns as the spine, text, empty string
    for missing) and the log of differences applied.
    """
    n = len(true)
    log = DifferenceLog()
    mult = np.where(eal, p.eal_multiplier, 1.0)
    fore = true["forename"].to_numpy(dtype=object).copy()
    middle = true["middle_names"].to_numpy(dtype=object).copy()
    sur = true["surname"].to_numpy(dtype=object).copy()

    # -- forename --------------------------------------------------------------
    informal = names.informal_forms()
    has_nick = np.array([f in informal for f in fore])
    rows = _pick(n, p.forename_nickname, rng, has_nick)
    for r in rows:
        options = informal[fore[r]]
        fore[r] = options[int(rng.integers(0, len(options)))]
    log.add(rows, "forename", "nickname")

    variants = names.spelling_variants()
    has_var = np.array([f in variants for f in fore]) & ~np.isin(np.arange(n), rows)
    rows = _pick(n, p.forename_spelling_variant * mult, rng, has_var)
    for r in rows:
        options = variants[fore[r]]
        fore[r] = options[int(rng.integers(0, len(options)))]
    log.add(rows, "forename", "spelling_variant")

    has_middle = np.array([bool(m) for m in middle])
    # Boys registered as Muhammad + the name they go by are often reported
    # by that name; otherwise rarely.
    goes_by = np.isin(fore, ["Muhammad", "Mohammed"]) & has_middle
    rate = np.where(goes_by, 0.45, p.forename_is_middle_name)
    rows = _pick(n, rate, rng, has_middle)
    for r in rows:
        parts = middle[r].split(" ")
        fore[r], middle[r] = parts[0], " ".join(parts[1:])
    log.add(rows, "forename", "middle_name_as_forename")

    rows = _pick(n, p.forename_typo * mult, rng)
    for r in rows:
        fore[r] = typo(fore[r], rng)
    log.add(rows, "forename", "typo")

    # -- surname ---------------------------------------------------------------
    rows = _pick(n, p.surname_changed, rng)
    for r in rows:
        new = names.surname_pool(origin[r] if origin[r] in names.ORIGINS else "british", 0.5, 0.6).sample(1, rng)[0]
        sur[r] = names.feminine_surname(new, origin[r]) if sex_true[r] == "F" else new
    log.add(rows, "surname", "changed")

    double = np.array(["-" in s for s in sur])
    rows = _pick(n, p.surname_double_barrel_one_part, rng, double)
    one_part = rng.random(len(rows)) < 0.7
    for r, first_part in zip(rows, one_part, strict=True):
        a, b = sur[r].split("-", 1)
        if first_part:
            sur[r] = a if rng.random() < 0.5 else b
        else:
            sur[r] = f"{a} {b}"
    log.add(rows[one_part], "surname", "double_barrel_one_part")
    log.add(rows[~one_part], "surname", "double_barrel_spaced")

    rows = _pick(n, p.surname_typo * mult, rng)
    for r in rows:
        sur[r] = typo(sur[r], rng)
    log.add(rows, "surname", "typo")

    rows = _pick(n, p.names_transposed, rng)
    fore[rows], sur[rows] = sur[rows].copy(), fore[rows].copy()
    log.add(rows, "names", "transposed")

    # -- naming conventions -----------------------------------------------------
    _conventions(fore, middle, sur, origin, sex_true, p, rng, log)

    rows = _pick(n, p.middle_names_omitted, rng, np.array([bool(m) for m in middle]))
    middle[rows] = ""
    log.add(rows, "middle_names", "omitted")

    rows = _pick(n, p.forename_missing, rng)
    fore[rows] = ""
    log.add(rows, "forename", "missing")
    rows = _pick(n, p.surname_missing, rng)
    sur[rows] = ""
    log.add(rows, "surname", "missing")

    # -- date of birth -------------------------------------------------------------
    dob = true["date_of_birth"].to_numpy(dtype=object).copy()
    year = np.array([int(d[:4]) for d in dob])
    month = np.array([int(d[5:7]) for d in dob])
    day = np.array([int(d[8:10]) for d in dob])
    swappable = (day <= 12) & (day != month)
    rows = _pick(n, p.dob_day_month_swapped * mult, rng, swappable)
    day[rows], month[rows] = month[rows].copy(), day[rows].copy()
    log.add(rows, "date_of_birth", "day_month_swapped")
    rows = _pick(n, p.dob_component_off * mult, rng)
    which = rng.integers(0, 3, len(rows))
    step = np.where(rng.random(len(rows)) < 0.5, -1, 1)
    for kind, label in ((0, "day_off"), (1, "month_off"), (2, "year_off")):
        r = rows[which == kind]
        s = step[which == kind]
        if kind == 0:
            day[r] = np.clip(day[r] + s, 1, 28)
        elif kind == 1:
            month[r] = (month[r] - 1 + s) % 12 + 1
        else:
            year[r] = year[r] + s
        log.add(r, "date_of_birth", label)
    day = np.minimum(day, _days_in_month(year, month))
    dob = np.array([f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in zip(year, month, day, strict=True)], dtype=object)
    rows = _pick(n, p.dob_missing, rng)
    dob[rows] = ""
    log.add(rows, "date_of_birth", "missing")

    # -- postcode, sex, school ----------------------------------------------------------
    pc = true["postcode"].to_numpy(dtype=object).copy()
    log.add(np.flatnonzero(pc != true["npd_postcode"].to_numpy(dtype=object)), "postcode", "moved_house")
    rows = _pick(n, p.postcode_typo, rng)
    for r in rows:
        out, inw = pc[r].split(" ")
        inw_new = inw[0] + "".join(np.array(list("ABDEFGHJLNPQRSTUWXYZ"))[rng.integers(0, 20, 2)])
        pc[r] = f"{out} {inw_new}" if rng.random() < 0.6 else f"{out} {(int(inw[0]) + 1) % 10}{inw[1:]}"
    log.add(rows, "postcode", "typo")
    rows = _pick(n, p.postcode_missing, rng)
    pc[rows] = ""
    log.add(rows, "postcode", "missing")

    sex = sex_true.astype(object).copy()
    rows = _pick(n, p.sex_wrong, rng)
    sex[rows] = np.where(sex[rows] == "F", "M", "F")
    log.add(rows, "sex", "wrong")
    rows = _pick(n, p.sex_missing, rng)
    sex[rows] = ""
    log.add(rows, "sex", "missing")

    school = true["school_urn"].to_numpy(dtype=object).copy()
    log.add(np.flatnonzero(school != true["npd_school_urn"].to_numpy(dtype=object)), "school_urn", "changed_school")
    rows = _pick(n, p.school_missing, rng)
    school[rows] = ""
    log.add(rows, "school_urn", "missing")

    # -- formatting (not a real difference) ------------------------------------------------
    for field, values in (("forename", fore), ("surname", sur), ("postcode", pc)):
        rows = _pick(n, p.formatting_noise, rng, np.array([bool(v) for v in values]))
        for r in rows:
            values[r] = _format_noise(values[r], rng) if field != "postcode" else _postcode_format(values[r], rng)
        log.add(rows, field, "formatting")

    def nullable(values: np.ndarray) -> np.ndarray:
        # Missing is null (an empty cell in CSV), never an empty string.
        out = values.astype(object).copy()
        out[np.array([not str(v).strip() for v in out])] = None
        return out

    fore, middle, sur, dob, sex, pc, school = (nullable(v) for v in (fore, middle, sur, dob, sex, pc, school))
    reported = pd.DataFrame(
        {
            "forename": fore,
            "middle_names": middle,
            "surname": sur,
            "date_of_birth": dob,
            "sex": sex,
            "postcode": pc,
            "school_urn": school,
        }
    )
    return reported, log


#: Yoruba prefixes a short form drops (the independent benchmark and the linker keep their own lists).
_YORUBA = ("oluwa", "olu", "ayo", "ade", "baba", "akin", "temi")
#: Letters NFKD keeps whole.
_WHOLE = str.maketrans({"ł": "l", "Ł": "L", "ı": "i", "İ": "I", "ø": "o", "ß": "ss"})


def _plain(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.translate(_WHOLE))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _conventions(fore: np.ndarray, middle: np.ndarray, sur: np.ndarray, origin: np.ndarray, sex: np.ndarray,
                 p: IdentifierParams, rng: np.random.Generator, log: DifferenceLog) -> None:
    """Apply the naming conventions of England's communities to the reported names (in place)."""
    n = len(fore)
    present = np.array([bool(s) for s in sur])
    girls = (origin == "south_asian_muslim") & (sex == "F") & present
    sikh = (origin == "south_asian_indian") & present
    rate = np.where(girls, p.surname_title, np.where(sikh, p.surname_title / 2, 0.0))
    rows = _pick(n, rate, rng)
    for r in rows:
        title = ("Begum" if rng.random() < 0.75 else "Khatun") if origin[r] == "south_asian_muslim" else ("Kaur" if sex[r] == "F" else "Singh")
        sur[r] = title if rng.random() < 0.6 else f"{title} {sur[r]}"
    log.add(rows, "surname", "title_name")

    rows = _pick(n, p.surname_patronymic, rng, (origin == "east_african") & present)
    for r in rows:
        father = str(middle[r]).split(" ")[0] if middle[r] else names.forename_pool("east_african", "M", 0.5, 0.0).sample(1, rng)[0]
        sur[r] = father
    log.add(rows, "surname", "patronymic")

    # An English given name beside a Chinese one: the survey gives the other of the two first.
    has_middle = np.array([bool(m) for m in middle])
    rows = _pick(n, p.other_given_name_first, rng, (origin == "chinese") & has_middle & np.array([bool(f) for f in fore]))
    for r in rows:
        first, *rest = str(middle[r]).split(" ")
        fore[r], middle[r] = first, " ".join([str(fore[r]), *rest])
    log.add(rows, "forename", "other_given_name_first")

    rows = _pick(n, p.names_family_first, rng, (origin == "chinese") & present & np.array([bool(f) for f in fore]))
    fore[rows], sur[rows] = sur[rows].copy(), fore[rows].copy()
    log.add(rows, "names", "family_name_first")

    prefixed = np.array([any(str(f).lower().startswith(x) and len(str(f)) - len(x) >= 3 for x in _YORUBA) for f in fore])
    rows = _pick(n, p.forename_short_form, rng, (origin == "west_african") & prefixed)
    for r in rows:
        low = str(fore[r]).lower()
        x = next(x for x in sorted(_YORUBA, key=len, reverse=True) if low.startswith(x) and len(low) - len(x) >= 3)
        fore[r] = str(fore[r])[len(x):].capitalize()
    log.add(rows, "forename", "short_form")

    accented = np.array([_plain(str(f)) != str(f) or _plain(str(s)) != str(s) for f, s in zip(fore, sur, strict=True)])
    rows = _pick(n, p.diacritics_dropped, rng, accented)
    for r in rows:
        fore[r], sur[r] = _plain(str(fore[r])), _plain(str(sur[r]))
    log.add(rows, "names", "diacritics_dropped")

    # Mc/Mac and O' written another way (McDonald~MacDonald, O'Brien~OBrien~O Brien).
    prefixed = np.array([str(s).startswith(("Mc", "Mac", "O'")) and len(str(s)) > 4 for s in sur])
    rows = _pick(n, p.surname_prefix_form, rng, prefixed)
    for r in rows:
        s = str(sur[r])
        if s.startswith("O'"):
            sur[r] = ("O" if rng.random() < 0.5 else "O ") + s[2:]
        elif s.startswith("Mac"):
            sur[r] = "Mc" + s[3:]
        else:
            sur[r] = "Mac" + s[2:]
    log.add(rows, "surname", "prefix_form")


def _postcode_format(pc: str, rng: np.random.Generator) -> str:
    kind = int(rng.integers(0, 3))
    if kind == 0:
        return pc.replace(" ", "")
    if kind == 1:
        return pc.lower()
    return pc.replace(" ", "  ")


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    first = np.array([np.datetime64(f"{y:04d}-{m:02d}", "M") for y, m in zip(year, month, strict=True)])
    return ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(int)
