"""An independent population for the linkage benchmarks: England's naming conventions, moves and school changes.

This generator is deliberately separate from ``sendlink.synth`` (nothing is
imported from it and no list is shared with it): a linker checked only on
the variation its own generator makes could look better than it is. It
builds a pupil population in local authorities (LAs) of very different
ethnic mix, with names drawn from ``faker``'s locale lists and small
hand-written lists where ``faker`` has no Latin-script names (Bangladeshi,
Sikh, Somali, Arabic), and records what a linker is up against:

* **naming conventions** (docs/DOMAIN.md, "Names in England's communities"):
  Muhammad/Mohammed registered as the first of several given names and the
  child known by the next one; Begum, Khatun and Bibi (Bangladeshi and
  Pakistani girls) and Kaur and Singh (Sikh children) recorded as the
  surname in one record and beside the family name, or not at all, in the
  other; Somali patronymic names (the child's second name is the father's
  given name, the third the grandfather's; one record keeps the father's
  name as the surname, the other the grandfather's, or the family name is
  absent); Chinese names in family-name-first order, and an English given
  name beside the pinyin one; transliterations (Mohammed/Muhammad,
  Hussain/Hossain, Chowdhury/Choudhury); diacritics (Polish, Romanian,
  Turkish, Portuguese) kept in one record and lost in the other; Yoruba
  short forms (Seun for Oluwaseun, Tunde for Babatunde); Mc/Mac and O'
  written several ways;
* **histories**: each household's postcode and each pupil's school at every
  census, with moves (within the LA and to another LA) and school changes;
  the survey reports the address and school of the survey year, the NPD
  spine holds the latest census;
* **children not in the NPD** who share a strong partial match with a
  pupil: a sibling (same surname and address) or a namesake at the same
  school;
* **generic damage** (keyboard and OCR typos, phonetic respellings,
  initials, swapped names, date slips, default dates, missing fields),
  the kinds of the first version of this benchmark.

Name frequencies are realistic: British surnames follow faker's en_GB
frequency weights with a long tail (Smith about 1.3% of pupils, as in
England), the most popular British given name is about 2% of a cohort. (The
first run of this generator drew every pool with a steep Zipf law in an
arbitrary order, which made one surname 10% of pupils and 1,100 pupils share
one full name; corrected before the results in ``benchmarks/results`` were
taken, for before and after alike.)

Every difference a survey record carries is listed per record (``kinds``),
with the record's circumstances (moved, moved to another LA, changed
school, postcode or date of birth missing) and the groups the quality
report breaks down by (ethnicity, EAL, FSM, SEN provision). Rates are
assumptions of this benchmark, listed in :data:`CONVENTION_RATES` and
:data:`ORIGINS`; nothing here was used to choose a threshold or a level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------- origins

#: Name origin -> (share of pupils in England, ethnicity major group, EAL rate, FSM rate, minority).
#: Shares after DfE "Schools, pupils and their characteristics" (ethnicity of pupils,
#: 2023/24: White British about 62%, Pakistani 4.9%, Indian 3.8%, Black African 4.5%,
#: Bangladeshi 1.9%, Chinese 0.8% ...); the split of broad groups into name origins,
#: the EAL and FSM rates are assumptions of this benchmark.
ORIGINS: dict[str, tuple[float, str, float, float]] = {
    "white_british": (0.600, "White", 0.01, 0.22),
    "celtic": (0.040, "White", 0.01, 0.22),        # Irish, Scottish and Welsh surnames: Mc/Mac, O', ap
    "caribbean": (0.015, "Black", 0.03, 0.36),
    "polish": (0.025, "White", 0.90, 0.14),
    "romanian": (0.020, "White", 0.95, 0.20),
    "turkish": (0.008, "White", 0.85, 0.35),
    "portuguese": (0.010, "White", 0.85, 0.25),
    "pakistani": (0.049, "Asian", 0.70, 0.30),
    "bangladeshi": (0.019, "Asian", 0.80, 0.38),
    "indian_sikh": (0.012, "Asian", 0.55, 0.12),
    "indian_hindu": (0.026, "Asian", 0.55, 0.10),
    "somali": (0.012, "Black", 0.90, 0.55),
    "nigerian": (0.025, "Black", 0.40, 0.25),
    "ghanaian": (0.010, "Black", 0.40, 0.28),
    "chinese": (0.008, "Chinese", 0.70, 0.08),
    "arabic": (0.015, "Other", 0.90, 0.40),
}
#: Share of white_british households whose children are recorded as of mixed ethnicity.
MIXED_SHARE = 0.10

#: Per-child probabilities that a convention makes the survey's record differ from the NPD's
#: (assumptions of this benchmark; see the module docstring).
CONVENTION_RATES = {
    "muhammad_registered": 0.55,   # Muslim boys registered as Muhammad/Mohammed + the name they go by
    "muhammad_differs": 0.55,      # ... whose two records then differ (one gives only the name used)
    "title_carried": 0.55,         # Bangladeshi/Pakistani girls with Begum/Khatun/Bibi in their name
    "sikh_title_carried": 0.90,    # Sikh children with Kaur/Singh
    "title_differs": 0.45,         # ... whose two records use it differently
    "patronymic_differs": 0.45,    # Somali children whose two records keep different names as surname
    "reversed_order": 0.15,        # Chinese names written family name first in one record
    "english_name": 0.30,          # Chinese children with an English given name beside the pinyin one
    "english_name_differs": 0.60,  # ... whose records then differ
    "translit": 0.15,              # South Asian, Arabic and Somali names spelt another way
    "diacritics_differ": 0.50,     # names with diacritics: one record keeps them, the other does not
    "short_form": 0.35,            # Yoruba prefixed names given in their short form
    "mc_mac_o": 0.30,              # Mc/Mac/O' names written another way
    "new_surname": 0.03,           # a parent's new surname (any origin)
}

# Hand-written lists (faker has no Latin-script names for these origins).
_BANGLADESHI = {
    "M": "Abdul Rahim Sayem Tanvir Rafi Nabil Imran Sabbir Arif Mahir Ayaan Rayhan Zubair Shahid Fahim Jubayer Tahmid "
         "Nafis Shafi Sohel Jamal Rubel Shakil Saiful Anwar Rashed Tamim Nahid Mizan Habib".split(),
    "F": "Fatima Ayesha Sumaiya Tasnim Nusrat Farhana Sadia Sabrina Jannat Afia Raisa Maliha Lamia Tahmina Ruksana "
         "Shirin Nadia Halima Amina Rumana Sharmin Jesmin Taslima Nazia Rehana Salma Sultana Mahmuda".split(),
    "S": "Ahmed Ali Miah Rahman Uddin Islam Hossain Khan Chowdhury Hoque Alam Haque Sarkar Talukder Mahmud Karim "
         "Sheikh Ullah Choudhury Kabir Hasan Akhtar Mollah Bhuiyan Sikder".split(),
}
_SIKH = {
    "M": "Harpreet Gurpreet Jaspreet Manpreet Gurdeep Harjit Amrit Arjun Jasdeep Rajveer Ravinder Sukhdeep Karanveer "
         "Jaskaran Harman Gurjot Navdeep Ranbir Kulvinder Parminder Balvinder Inderjit".split(),
    "F": "Harpreet Simran Manpreet Jasleen Amrit Gurleen Navneet Kiran Jaspreet Rajdeep Sukhmani Harleen Parminder "
         "Ravneet Sandeep Jasmeet Kirandeep Amandeep Gurpinder Rupinder".split(),
    "S": "Gill Sandhu Sidhu Dhillon Grewal Johal Bains Sahota Virdi Atwal Kang Bhogal Randhawa Sangha Dhaliwal Basra "
         "Chahal Mann Sohal Hayer Kalsi Rai".split(),
}
_SOMALI = {
    "M": "Ahmed Mohamed Abdi Ali Hassan Hussein Omar Abdullahi Yusuf Ismail Abdirahman Mustafe Khadar Farah Guled "
         "Liban Bashir Sharmarke Abdiaziz Mahad Said Jama Warsame Osman Nur Aden Ibrahim Hirsi Musse Dahir".split(),
    "F": "Hodan Amina Fadumo Hibo Sagal Ayaan Ifrah Nimo Sahra Hamdi Ikran Filsan Hani Deqa Ubah Asha Hawa Muna "
         "Layla Nasra Safiya Khadra Maryan Ladan".split(),
}
_ARABIC = {
    "M": "Omar Ahmad Yousef Khaled Abdulrahman Abdullah Hamza Mustafa Ibrahim Adam Ali Karim Zaid Tariq Samir Rami "
         "Fadi Bilal Anas Amir Youssef Nabil Hussein".split(),
    "F": "Fatima Mariam Noor Layla Sara Aya Hana Rania Yasmin Salma Huda Jana Lina Malak Reem Dana Rahaf Zainab Amal "
         "Nour Rana Dalia".split(),
    "S": "Al-Hassan Al-Masri Haddad Khalil Mansour Nasser Saleh Hamdan Abdallah Al-Sayed Darwish Farouk Habib Ibrahim "
         "Jaber Kassem Mahmoud Othman Rashed Younis Abdel-Rahman El-Sayed Al-Amin Shaker Aziz".split(),
}
_PAKISTANI_SURNAMES = ("Khan Hussain Ali Ahmed Akhtar Iqbal Mahmood Butt Raja Shah Malik Rashid Aslam Javed Hanif "
                       "Riaz Chaudhry Bashir Nawaz Saleem Yousaf Mirza Qureshi Sheikh Anwar Rehman Sadiq Zaman").split()
_HINDU_SURNAMES = "Patel Shah Sharma Kumar Mistry Desai Joshi Mehta Parmar Chauhan Solanki Lad Pandya Naidoo Iyer Reddy Modi Thakkar".split()
_WELSH_SURNAMES = "Price Pritchard Bowen Powell Parry Pugh Bevan Probert Prosser Bellis".split()
_MAC_SURNAMES = ("McDonald MacDonald McKenzie MacKenzie McLean MacLean McGregor MacGregor McIntyre McLeod MacLeod "
                 "McMillan O'Neill O'Brien O'Connor O'Sullivan O'Reilly O'Donnell McCarthy McLaughlin").split()
#: Yoruba names with a theophoric or family prefix, and the short form a family writes.
YORUBA_SHORT = {
    "Oluwaseun": "Seun", "Oluwatobi": "Tobi", "Olufunmilayo": "Funmi", "Babatunde": "Tunde", "Adebayo": "Bayo",
    "Oluwadamilare": "Dami", "Olumide": "Mide", "Temitope": "Tope", "Oluwakemi": "Kemi", "Adewale": "Wale",
    "Akinkunle": "Kunle", "Oluwafemi": "Femi", "Olusegun": "Segun", "Ayodeji": "Deji", "Babajide": "Jide",
    "Oluwatosin": "Tosin", "Oluwabukola": "Bukola", "Oluwatoyin": "Toyin", "Adeola": "Ola", "Oluwadamilola": "Dami",
    "Oluwaseyi": "Seyi", "Oluwatomisin": "Tomi", "Olayinka": "Yinka", "Omotola": "Tola",
}
_YORUBA_F = ["Oluwaseun", "Olufunmilayo", "Temitope", "Oluwakemi", "Oluwatosin", "Oluwabukola", "Oluwatoyin",
             "Oluwadamilola", "Omotola", "Olayinka", "Adeola"]
_YORUBA_M = ["Oluwatobi", "Babatunde", "Adebayo", "Oluwadamilare", "Olumide", "Adewale", "Akinkunle", "Oluwafemi",
             "Olusegun", "Ayodeji", "Babajide", "Oluwaseyi", "Oluwatomisin"]
#: Transliterations: spellings of one name (the benchmark's own table).
TRANSLIT = [
    ("Muhammad", "Mohammed", "Mohammad", "Mohamed", "Muhammed", "Md"), ("Ahmed", "Ahmad"), ("Hussain", "Hussein", "Hossain", "Husain"),
    ("Abdul", "Abdool"), ("Abdulrahman", "Abdul Rahman", "Abdur Rahman", "Abdel Rahman"), ("Yusuf", "Yousef", "Yousuf", "Youssef"),
    ("Chowdhury", "Choudhury", "Chaudhry", "Chaudhary"), ("Rahman", "Rehman"), ("Uddin", "Udin", "Uddeen"), ("Miah", "Mia", "Meah"),
    ("Mahmood", "Mahmud", "Mehmood"), ("Mustafa", "Mustapha", "Mostafa"), ("Hassan", "Hasan"), ("Omar", "Umar"),
    ("Ayesha", "Aisha", "Aysha"), ("Fatima", "Fatimah", "Fatema"), ("Zainab", "Zaynab"), ("Ibrahim", "Ebrahim"),
    ("Osman", "Othman", "Usman"), ("Noor", "Nur"), ("Layla", "Laila", "Leila"), ("Yasmin", "Yasmeen", "Jasmin"),
    ("Sumaiya", "Sumaya", "Sumayyah"), ("Rashid", "Rasheed", "Rashed"), ("Haque", "Hoque", "Haq"), ("Islam", "Eslam"),
    ("Khadra", "Khadro"), ("Fadumo", "Faduma", "Fatuma"), ("Abdi", "Abdy"), ("Mohamud", "Mahamud", "Mahmoud"),
    ("Jama", "Jaamac"), ("Farah", "Faarah"), ("Deqa", "Deeqa"), ("Hibo", "Hibaaq"), ("Warsame", "Warsama"),
]
_TITLES_F = ("Begum", "Khatun", "Bibi")
_DIACRITICS = str.maketrans({"ł": "l", "Ł": "L", "ą": "a", "ę": "e", "ś": "s", "ć": "c", "ń": "n", "ó": "o", "ź": "z",
                             "ż": "z", "Ś": "S", "Ż": "Z", "ă": "a", "â": "a", "î": "i", "ș": "s", "ş": "s", "ț": "t",
                             "ţ": "t", "Ș": "S", "Ş": "S", "Ț": "T", "ı": "i", "İ": "I", "ğ": "g", "ç": "c", "ö": "o",
                             "ü": "u", "Ö": "O", "Ü": "U", "Ç": "C", "ã": "a", "õ": "o", "á": "a", "é": "e", "í": "i",
                             "ú": "u", "ê": "e", "ô": "o", "à": "a"})


def strip_diacritics(text: str) -> str:
    """The name as a system without accents writes it (ł -> l, ș -> s, ı -> i ...)."""
    return text.translate(_DIACRITICS)


def _zipf(n: int, exponent: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** exponent
    return w / w.sum()


@dataclass
class _Pool:
    names: list[str]
    probs: np.ndarray

    def draw(self, rng: np.random.Generator, size: int | None = None):
        idx = rng.choice(len(self.names), size=size, p=self.probs)
        return self.names[idx] if size is None else [self.names[i] for i in idx]


def _faker_names(locale: str, kind: str, count: int, seed: int, method: str | None = None) -> list[str]:
    from faker import Faker

    f = Faker(locale)
    f.seed_instance(seed)
    call = getattr(f, method or {"M": "first_name_male", "F": "first_name_female", "S": "last_name"}[kind])
    seen: dict[str, None] = {}
    for _ in range(count * 6):
        name = call()
        if name.replace("-", "").replace(" ", "").replace("'", "").isalpha():
            seen.setdefault(name, None)
        if len(seen) >= count:
            break
    return list(seen)


def _british_surnames() -> tuple[list[str], np.ndarray]:
    """faker's en_GB surnames with their frequency weights as the head (45% of people), and a flat
    tail of en_NZ and en_US surnames (55%): Smith about 1.3% of people, as in England."""
    from faker.providers.person.en_GB import Provider as British
    from faker.providers.person.en_NZ import Provider as Zealand
    from faker.providers.person.en_US import Provider as American

    head = dict(British.last_names)
    tail = sorted({n for provider in (Zealand, American) for n in provider.last_names
                   if n.isalpha() and n not in head})
    weights = np.array(list(head.values()), dtype=float)
    probs = np.concatenate([0.45 * weights / weights.sum(), np.full(len(tail), 0.55 / len(tail))])
    return list(head) + tail, probs / probs.sum()


def _british_forenames(sex: str) -> list[str]:
    """faker's en_GB then en_US given names (about 700; Zipf 0.5 on this order: the top name about 2%)."""
    from faker.providers.person.en_GB import Provider as British
    from faker.providers.person.en_US import Provider as American

    attr = "first_names_male" if sex == "M" else "first_names_female"
    return list(dict.fromkeys(n for provider in (British, American) for n in getattr(provider, attr) if n.isalpha()))


#: Zipf exponents by pool. Given names: 0.5 for British names (the most popular name
#: about 2% of a cohort, as in the ONS baby-name tables), 0.7 within smaller communities;
#: surnames 0.9 within communities where a few family names dominate (Khan, Hussain, Ahmed;
#: Gill, Sandhu), and British surnames from faker's frequency weights.
_EXPONENT = {"forename": 0.7, "forename_british": 0.5, "surname": 0.9}


def name_pools(seed: int) -> dict[tuple[str, str], _Pool]:
    """(origin, 'M' | 'F' | 'S') -> a pool of names with realistic skew (see :data:`_EXPONENT`)."""
    pools: dict[tuple[str, str], list[str]] = {}
    faker_locale = {"polish": "pl_PL", "romanian": "ro_RO", "turkish": "tr_TR", "portuguese": "pt_PT",
                    "indian_hindu": "en_IN", "nigerian": "yo_NG", "ghanaian": "tw_GH", "celtic": "en_IE"}
    for k, (origin, locale) in enumerate(faker_locale.items()):
        for kind in "MFS":
            pools[(origin, kind)] = _faker_names(locale, kind, 120, seed + 17 * k + ord(kind))
    pools[("pakistani", "M")] = _faker_names("en_PK", "M", 120, seed + 501)
    pools[("pakistani", "F")] = _faker_names("en_PK", "F", 120, seed + 502)
    pools[("pakistani", "S")] = _PAKISTANI_SURNAMES
    pools[("indian_hindu", "S")] = _HINDU_SURNAMES
    pools[("celtic", "S")] = _MAC_SURNAMES + _WELSH_SURNAMES + pools[("celtic", "S")][:40]
    pools[("nigerian", "F")] = _YORUBA_F + pools[("nigerian", "F")]
    pools[("nigerian", "M")] = _YORUBA_M + pools[("nigerian", "M")]
    for origin, lists in (("bangladeshi", _BANGLADESHI), ("indian_sikh", _SIKH), ("arabic", _ARABIC)):
        for kind in "MFS":
            pools[(origin, kind)] = lists[kind]
    pools[("somali", "M")], pools[("somali", "F")] = _SOMALI["M"], _SOMALI["F"]
    pools[("somali", "S")] = _SOMALI["M"]  # a Somali second name is the father's given name
    from faker import Faker

    zh = Faker("zh_CN")
    zh.seed_instance(seed + 900)
    given = list(dict.fromkeys(zh.first_romanized_name() for _ in range(800)))[:150]
    family = list(dict.fromkeys(zh.last_romanized_name() for _ in range(800)))[:60]
    pools[("chinese", "M")] = given
    pools[("chinese", "F")] = given[::-1]
    pools[("chinese", "S")] = family
    out = {k: _Pool(v, _zipf(len(v), _EXPONENT["surname" if k[1] == "S" else "forename"])) for k, v in pools.items()}
    surnames, probs = _british_surnames()
    for origin in ("white_british", "caribbean"):
        out[(origin, "S")] = _Pool(surnames, probs)
        for sex in "MF":
            names = _british_forenames(sex)
            out[(origin, sex)] = _Pool(names, _zipf(len(names), _EXPONENT["forename_british"]))
    return out


_ENGLISH_NAMES = {"M": ["David", "Kevin", "Jason", "Eric", "Michael", "Daniel", "Leo", "Ryan", "Alan", "Tony"],
                  "F": ["Grace", "Emily", "Jenny", "Amy", "Alice", "Lily", "Vicky", "Cindy", "Joy", "Annie"]}

# --------------------------------------------------------------------------- places

_AREAS = ("B", "BD", "BL", "BN", "BR", "BS", "CB", "CM", "CR", "CV", "DE", "DN", "E", "EN", "HA", "HD", "HU", "IG", "L",
          "LE", "LS", "LU", "M", "ME", "MK", "N", "NE", "NG", "NW", "OL", "OX", "PE", "PL", "PO", "RG", "RM", "S", "SE",
          "SL", "SO", "ST", "SW", "TW", "UB", "W", "WF", "WV", "YO")
_UNIT_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))


def _postcode(area: str, rng: np.random.Generator) -> str:
    return f"{area}{int(rng.integers(1, 30))} {int(rng.integers(0, 10))}{''.join(rng.choice(_UNIT_LETTERS, 2))}"


@dataclass
class World:
    """The NPD side of the benchmark and everything needed to draw a survey from it."""

    npd: pd.DataFrame          # the NPD spine: latest census
    history: pd.DataFrame      # upn, academic_year, postcode, school_urn (every census)
    pupils: pd.DataFrame       # per pupil: attributes, household, names as registered, survey-year address and school
    la_area: list[str]
    schools_by_la: list[np.ndarray]
    pools: dict


def build_world(n_pupils: int, n_las: int, rng: np.random.Generator, *, census_years=(2019, 2020, 2021, 2022, 2023, 2024),
                survey_year: int = 2022, move_rate: float = 0.09, cross_la_share: float = 0.25) -> World:
    """Households in ``n_las`` LAs of different ethnic mix, their pupils and their censuses.

    Each LA has a *diversity* factor (lognormal: a few very diverse LAs, many
    with few minority pupils) that multiplies the minority origins' shares.
    Households move with probability ``move_rate`` a year (a share
    ``cross_la_share`` of moves to another LA); a pupil changes school on a
    move to another LA, on 40% of moves within it, and otherwise 3% a year.
    """
    pools = name_pools(int(rng.integers(2**30)))
    areas = list(rng.choice(_AREAS, n_las, replace=n_las > len(_AREAS)))
    la_size = rng.lognormal(0, 0.5, n_las)
    la_size /= la_size.sum()
    diversity = rng.lognormal(0, 1.0, n_las)
    schools_by_la = []
    next_urn = 100000
    for la in range(n_las):
        k = max(3, int(round(la_size[la] * n_pupils / 600)))
        schools_by_la.append(np.arange(next_urn, next_urn + k))
        next_urn += k + int(rng.integers(1, 50))
    names = list(ORIGINS)
    base = np.array([ORIGINS[o][0] for o in names])
    minority = np.array([o != "white_british" for o in names])
    years = list(census_years)
    rows, hist = [], []
    pid = 0
    household = -1
    while pid < n_pupils:
        household += 1
        la = int(rng.choice(n_las, p=la_size))
        shares = np.where(minority, base * diversity[la], base)
        origin = names[int(rng.choice(len(names), p=shares / shares.sum()))]
        ethnicity = ORIGINS[origin][1]
        if origin == "white_british" and rng.random() < MIXED_SHARE:
            ethnicity = "Mixed"
        eal = rng.random() < ORIGINS[origin][2]
        fsm_family = rng.random() < ORIGINS[origin][3]
        family = pools[(origin, "S")].draw(rng)
        father = pools[("somali", "M")].draw(rng) if origin == "somali" else None
        grandfather = pools[("somali", "M")].draw(rng) if origin == "somali" else None
        # Address and LA per census year.
        las, pcs = [], []
        here, pc = la, _postcode(areas[la], rng)
        moved_la_years = set()
        moved_years = set()
        for y in years:
            if y != years[0] and rng.random() < move_rate:
                moved_years.add(y)
                if rng.random() < cross_la_share:
                    here = int(rng.choice(n_las, p=la_size))
                    moved_la_years.add(y)
                pc = _postcode(areas[here], rng)
            las.append(here)
            pcs.append(pc)
        children = int(rng.choice([1, 2, 3], p=[0.55, 0.33, 0.12]))
        twins = rng.random() < 0.02
        first_birth = pd.Timestamp("2008-09-01") + pd.Timedelta(days=int(rng.integers(0, 5 * 365)))
        for k in range(2 if twins else children):
            if pid >= n_pupils:
                break
            sex = "F" if rng.random() < 0.49 else "M"
            dob = first_birth if twins else first_birth + pd.Timedelta(days=int(k * rng.integers(330, 700)))
            if dob > pd.Timestamp("2013-08-31"):
                dob = pd.Timestamp("2013-08-31") - pd.Timedelta(days=int(rng.integers(0, 200)))
            given = pools[(origin, sex)].draw(rng)
            record = {"origin": origin, "ethnicity": ethnicity, "eal": bool(eal), "fsm": bool(fsm_family or rng.random() < 0.05),
                      "sen": str(rng.choice(["E", "K", "N"], p=[0.06, 0.16, 0.78])), "sex": sex, "dob": dob.strftime("%Y-%m-%d"),
                      "household": household, "given": given,
                      "family": family, "conventions": []}
            # Names as registered at school (the NPD) and as the family gives them (the survey).
            npd_f, npd_m, npd_s = given, "", family
            sur_f, sur_m, sur_s = given, "", family
            if origin == "white_british" and rng.random() < 0.6:
                npd_m = sur_m = pools[("white_british", sex)].draw(rng)
            if origin == "somali":
                # Given name + father's given name + grandfather's given name.
                npd_f, npd_m, npd_s = given, father, grandfather
                sur_f, sur_m, sur_s = given, father, grandfather
                if rng.random() < CONVENTION_RATES["patronymic_differs"]:
                    choice = rng.random()
                    if choice < 0.5:
                        sur_m, sur_s = "", father          # the father's name as the surname
                    elif choice < 0.8:
                        npd_m, npd_s = "", father
                    else:
                        sur_f, sur_m, sur_s = given, "", f"{father} {grandfather}"
                    record["conventions"].append("patronymic")
            if origin in ("pakistani", "bangladeshi", "arabic", "somali") and sex == "M" and rng.random() < CONVENTION_RATES["muhammad_registered"]:
                prefix = str(rng.choice(["Muhammad", "Mohammed", "Mohammad", "Md"], p=[0.45, 0.35, 0.12, 0.08]))
                npd_f, npd_m = (f"{prefix} {given}", npd_m) if rng.random() < 0.5 else (prefix, " ".join(filter(None, [given, npd_m])))
                sur_f = f"{prefix} {given}"
                if rng.random() < CONVENTION_RATES["muhammad_differs"]:
                    sur_f = given if rng.random() < 0.7 else prefix  # the name used, or only the prefix
                    record["conventions"].append("muhammad_prefix")
            if origin in ("bangladeshi", "pakistani") and sex == "F" and rng.random() < CONVENTION_RATES["title_carried"]:
                title = str(rng.choice(_TITLES_F, p=[0.7, 0.2, 0.1]))
                forms = [title, f"{title} {family}", family, f"{family} {title}"]
                npd_s = forms[int(rng.choice(4, p=[0.4, 0.3, 0.2, 0.1]))]
                sur_s = npd_s
                if rng.random() < CONVENTION_RATES["title_differs"]:
                    sur_s = str(rng.choice([f for f in forms if f != npd_s]))
                    record["conventions"].append("title_surname")
            if origin == "indian_sikh" and rng.random() < CONVENTION_RATES["sikh_title_carried"]:
                title = "Kaur" if sex == "F" else "Singh"
                forms = [("", title), (title, family), ("", f"{title} {family}")]
                npd_m, npd_s = forms[int(rng.choice(3, p=[0.3, 0.45, 0.25]))]
                sur_m, sur_s = npd_m, npd_s
                if rng.random() < CONVENTION_RATES["title_differs"]:
                    sur_m, sur_s = forms[int(rng.choice([i for i in range(3) if forms[i] != (npd_m, npd_s)]))]
                    record["conventions"].append("sikh_title")
            if origin == "chinese":
                if rng.random() < CONVENTION_RATES["english_name"]:
                    english = str(rng.choice(_ENGLISH_NAMES[sex]))
                    npd_f, npd_m = (english, given) if rng.random() < 0.5 else (given, english)
                    sur_f, sur_m = npd_f, npd_m
                    if rng.random() < CONVENTION_RATES["english_name_differs"]:
                        sur_f, sur_m = (npd_m, "") if rng.random() < 0.7 else (f"{npd_f} {npd_m}", "")
                        record["conventions"].append("english_name")
                if rng.random() < CONVENTION_RATES["reversed_order"]:
                    sur_f, sur_s = sur_s, sur_f
                    record["conventions"].append("reversed_order")
            if origin in ("polish", "romanian", "turkish", "portuguese"):
                plain_f, plain_s = strip_diacritics(npd_f), strip_diacritics(npd_s)
                if (plain_f != npd_f or plain_s != npd_s) and rng.random() < CONVENTION_RATES["diacritics_differ"]:
                    if rng.random() < 0.5:
                        sur_f, sur_s = plain_f, plain_s
                    else:
                        npd_f, npd_s = plain_f, plain_s
                    record["conventions"].append("diacritics")
            if origin == "nigerian" and given in YORUBA_SHORT and rng.random() < CONVENTION_RATES["short_form"]:
                sur_f = YORUBA_SHORT[given]
                record["conventions"].append("yoruba_short_form")
            if origin == "celtic" and (family.startswith(("Mc", "Mac", "O'"))) and rng.random() < CONVENTION_RATES["mc_mac_o"]:
                if family.startswith("O'"):
                    sur_s = str(rng.choice([family.replace("'", ""), family.replace("'", " "), family.replace("O'", "O")]))
                elif family.startswith("Mac"):
                    sur_s = "Mc" + family[3:] if rng.random() < 0.6 else "Mac " + family[3:]
                else:
                    sur_s = "Mac" + family[2:] if rng.random() < 0.6 else "Mc " + family[2:]
                record["conventions"].append("mc_mac_o")
            if origin in ("pakistani", "bangladeshi", "arabic", "somali") and rng.random() < CONVENTION_RATES["translit"]:
                changed = False
                for group in TRANSLIT:
                    for field in ("f", "s"):
                        value = sur_f if field == "f" else sur_s
                        tokens = value.split(" ")
                        for i, token in enumerate(tokens):
                            if token in group and not changed:
                                tokens[i] = str(rng.choice([g for g in group if g != token]))
                                changed = True
                        if field == "f":
                            sur_f = " ".join(tokens)
                        else:
                            sur_s = " ".join(tokens)
                if changed:
                    record["conventions"].append("translit")
            record.update(npd_forename=npd_f, npd_middle=npd_m, npd_surname=npd_s,
                          survey_forename=sur_f, survey_middle=sur_m, survey_surname=sur_s)
            # School per year: changes with moves, and now and then without.
            school = int(rng.choice(schools_by_la[las[0]]))
            schools = []
            for j, y in enumerate(years):
                if y in moved_la_years or (y in moved_years and rng.random() < 0.4) or (j and rng.random() < 0.03):
                    school = int(rng.choice(schools_by_la[las[j]]))
                schools.append(school)
            upn = f"P{pid:08d}"
            record.update(upn=upn, pid=pid)
            s_idx = years.index(survey_year)
            record.update(survey_postcode=pcs[s_idx], survey_school=schools[s_idx], survey_la=las[s_idx],
                          npd_postcode=pcs[-1], npd_school=schools[-1], npd_la=las[-1])
            for y, p, s in zip(years, pcs, schools, strict=True):
                hist.append((upn, y, p, s))
            rows.append(record)
            pid += 1
    pupils = pd.DataFrame(rows)
    npd = pd.DataFrame({"upn": pupils["upn"], "forename": pupils["npd_forename"], "middle_names": pupils["npd_middle"],
                        "surname": pupils["npd_surname"], "date_of_birth": pupils["dob"], "sex": pupils["sex"],
                        "postcode": pupils["npd_postcode"], "school_urn": pupils["npd_school"].astype(str)})
    history = pd.DataFrame(hist, columns=["upn", "academic_year", "postcode", "school_urn"])
    history["school_urn"] = history["school_urn"].astype(str)
    return World(npd=npd, history=history, pupils=pupils, la_area=areas, schools_by_la=schools_by_la, pools=pools)
