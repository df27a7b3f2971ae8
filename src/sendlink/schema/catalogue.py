"""The catalogue: every file the project reads or writes, named once.

Each entry is a :class:`File`: where it lives (relative to the project root),
the party of docs/DESIGN.md section 2 that holds it, what it holds and, for
a table, its column contract. A table's location is the ``path`` its
contract carries (:func:`sendlink.schema.table`); the entries below take it
from there. Code, notebooks included, never spells a file name: it asks the
catalogue for the file and the project's folders for where they are::

    links = read_table(catalogue.LINKS.at(paths))

so renaming or moving a file is a one-line change here. The folders are
those of :class:`sendlink.config.Paths`; the synthetic world may be written
elsewhere (``sendlink synth --out``), and :meth:`File.at` follows it.

The truth files (``data/synthetic/truth/``) are not listed here: their
contracts and entries are in :mod:`sendlink.schema.truth`, which only the
generator (writing) and :mod:`sendlink.evaluate` (reading) may import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandera.pandas as pa

from sendlink.config import Paths
from sendlink.schema import consent, npd, research, spine, survey

__all__ = ["FILES", "HOLDINGS", "SPLINK_BUNDLE", "SYNTHETIC", "TABLES", "File", "held", "scale_survey_spine", "splink_settings_file"]

#: The folder of the generated world, relative to the project root.
SYNTHETIC = "data/synthetic"


@dataclass(frozen=True)
class File:
    """One file of the project.

    Attributes
    ----------
    path
        Relative to the project root, ``/``-separated (as the data
        dictionary shows it).
    holder
        ``dfe``, ``survey_organisation``, ``linkage_unit``, ``researchers``,
        ``truth`` or ``everyone``.
    description
        What it holds, in one sentence.
    contract
        The table's column contract, for tables.
    """

    path: str
    holder: str
    description: str
    contract: pa.DataFrameSchema | None = field(default=None, compare=False)

    @classmethod
    def of(cls, contract: pa.DataFrameSchema) -> File:
        """The file a table contract describes, at the contract's own path."""
        meta = contract.metadata
        return cls(meta["path"], meta["holder"], contract.description or "", contract)

    def at(self, paths: Paths) -> Path:
        """Where the file is in the project (or the synthetic world) ``paths`` describes."""
        return paths.resolve(self.path)

    @property
    def name(self) -> str:
        """The file's name, without its folder."""
        return PurePosixPath(self.path).name

    def relative_to(self, folder: str) -> str:
        """The path below ``folder`` (a catalogue folder such as :data:`SYNTHETIC`)."""
        return PurePosixPath(self.path).relative_to(folder).as_posix()


# --- The synthetic world: DfE's NPD (data/synthetic/npd/) -------------------------
MANIFEST = File(f"{SYNTHETIC}/manifest.json", "everyone", "What the generator wrote: every file with its SHA-256, row counts and the fingerprint of its parameters.")
NPD_SPINE = File.of(spine.NPD_SPINE)
POSTCODE_HISTORY = File.of(npd.POSTCODE_HISTORY)
CENSUS = File.of(npd.CENSUS)
ABSENCE = File.of(npd.ABSENCE)
EXCLUSIONS = File.of(npd.EXCLUSIONS)
EYFSP = File.of(npd.EYFSP)
PHONICS = File.of(npd.PHONICS)
KS1 = File.of(npd.KS1)
KS2 = File.of(npd.KS2)
KS4 = File.of(npd.KS4)
SCHOOLS = File.of(npd.SCHOOLS)
LOCAL_AUTHORITIES = File.of(npd.LOCAL_AUTHORITIES)
NPD = (NPD_SPINE, POSTCODE_HISTORY, CENSUS, ABSENCE, EXCLUSIONS, EYFSP, PHONICS, KS1, KS2, KS4, SCHOOLS, LOCAL_AUTHORITIES)



def scale_survey_spine(size: int) -> File:
    """A survey spine of ``size`` children drawn from a national-size spine (``sendlink synth --npd-size``)."""
    return File(f"{SYNTHETIC}/survey/survey_spine_{size}.parquet", "survey_organisation",
                f"Identifiers of {size} children drawn from the national spine, as parents report them.", spine.SURVEY_SPINE)


# --- The synthetic world: the survey organisation's raw files (data/synthetic/survey/) ---
SAMPLE = File.of(survey.SAMPLE)
CONTACTS = File.of(survey.CONTACTS)
PARENT_W1 = File.of(survey.PARENT_W1)
YOUNG_PERSON_W1 = File.of(survey.YOUNG_PERSON_W1)
PARENT_W2 = File.of(survey.PARENT_W2)
YOUNG_PERSON_W2 = File.of(survey.YOUNG_PERSON_W2)
CONSENT_EVENTS = File.of(consent.CONSENT_EVENTS)
RIGHTS_REQUESTS = File.of(consent.RIGHTS_REQUESTS)
#: Answer tables, keyed by ``survey_id``.
ANSWERS = (PARENT_W1, PARENT_W2, YOUNG_PERSON_W1, YOUNG_PERSON_W2)
SURVEY = (SAMPLE, CONTACTS, PARENT_W1, YOUNG_PERSON_W1, PARENT_W2, YOUNG_PERSON_W2, CONSENT_EVENTS, RIGHTS_REQUESTS)

# --- The consent register (data/register/) --------------------------------------
REGISTER_DB = File("data/register/consent.sqlite", "survey_organisation", "The append-only consent and rights register (SQLite).")
ERASURE_LOG = File.of(consent.ERASURE_LOG)
#: Where versions before the key rules (sendlink.keys) kept the register's key. Not a file
#: of the project any more: a key inside the project folder is refused, with how to move it.
LEGACY_REGISTER_KEY = File("data/register/register.key", "survey_organisation", "Refused: keys live outside the project folder.")
WORLD = File("data/register/world.json", "survey_organisation", "Which synthetic world (the data's parameter fingerprint) the register belongs to.")

# --- The survey organisation's holdings after consent and rights (data/survey_org/) ---
CONSENT_STATUS = File.of(consent.CONSENT_STATUS)
REGISTER_EXPORT = File.of(consent.REGISTER_EXPORT)
HOLDINGS_FOLDER = "data/survey_org/holdings"


def _held(raw: File) -> File:
    return File(f"{HOLDINGS_FOLDER}/{raw.name}", raw.holder, f"Working copy of {raw.path}: erased cases removed, rectifications applied.", raw.contract)


#: The working copies of the raw survey files, by raw file.
HOLDINGS: dict[File, File] = {raw: _held(raw) for raw in (CONTACTS, SAMPLE, *ANSWERS)}


def held(raw: File) -> File:
    """The survey organisation's working copy of a raw survey file (``HOLDINGS[raw]``)."""
    return HOLDINGS[raw]


# --- DfE's linkage (data/linkage/) ------------------------------------------------
SURVEY_SPINE = File.of(spine.SURVEY_SPINE)
DECISIONS = File("data/linkage/review/decisions.csv", "dfe", "Reviewers' decisions on clerical-review pairs (read, never written).")
LINKS = File.of(spine.LINKS)
PAIRS = File("data/linkage/pairs.parquet", "dfe", "Every scored candidate pair: keys, passes, comparison levels, weights, probabilities.")
MODEL = File("data/linkage/model.json", "dfe", "The fitted model, thresholds, blocking counts, timings and the Splink settings (no identifiers).")
REVIEW_QUEUE = File("data/linkage/clerical_review.csv", "dfe", "The clerical-review queue: both records' identifiers side by side.")
LINKAGE_QUALITY = File("data/linkage/linkage_quality.json", "dfe", "Linkage quality against the synthetic truth (counts and rates only), written by evaluation.")

# --- Linking without names (issue 18): each party's PPRL files -----------------------
PPRL_SURVEY_MAPPING = File("data/survey_org/pprl/pseudonyms.parquet", "survey_organisation",
                           "The survey organisation's per-run pseudonyms: survey_id and the pseudonym sent to the linkage unit instead.")
PPRL_SURVEY_LINKS = File("data/survey_org/pprl/links.parquet", "survey_organisation",
                         "The linkage unit's links with survey ids put back (the NPD side still pseudonymous), sent on to DfE.")
PPRL_NPD_MAPPING = File("data/linkage/pprl/pseudonyms.parquet", "dfe",
                        "DfE's per-run pseudonyms: upn and the pseudonym sent to the linkage unit instead.")
PPRL_LINKS = File("data/linkage/pprl/links.parquet", "dfe",
                  "The links of encoded linkage with both sides' keys put back (the links contract).")
# The linkage unit (data/linkage_unit/): encoded inputs and its outputs, no plain identifier.
UNIT_SURVEY_ENCODED = File("data/linkage_unit/survey_encoded.parquet", "linkage_unit",
                           "The survey organisation's encoded spine: pseudonyms, Bloom filters, keyed tokens and blocking keys.")
UNIT_NPD_ENCODED = File("data/linkage_unit/npd_encoded.parquet", "linkage_unit",
                        "DfE's encoded NPD spine: pseudonyms, Bloom filters, keyed tokens and blocking keys.")
UNIT_LINKS = File("data/linkage_unit/links.parquet", "linkage_unit",
                  "The linkage unit's links: the links contract, holding pseudonyms.")
UNIT_REVIEW_QUEUE = File("data/linkage_unit/clerical_review.csv", "linkage_unit",
                         "The one-sided review queue: pseudonyms, comparison levels, Dice similarities and weights (no identifier).")
UNIT_MODEL = File("data/linkage_unit/model.json", "linkage_unit",
                  "The model fitted on encodings, thresholds, blocking counts and timings (no identifier).")
#: The linkage unit's files (the scanner proves they hold no plain identifier).
LINKAGE_UNIT = (UNIT_SURVEY_ENCODED, UNIT_NPD_ENCODED, UNIT_LINKS, UNIT_REVIEW_QUEUE, UNIT_MODEL)

# --- The Splink bundle: what a Splink run elsewhere needs (written where the user says) ---
#: The bundle's folder as the README's cluster commands name it; :func:`sendlink.link.splink_export.write_splink_files`
#: writes the files below into any folder (``File.name`` is their name there).
SPLINK_BUNDLE_FOLDER = "splink_bundle"
SPLINK_SURVEY = File(f"{SPLINK_BUNDLE_FOLDER}/survey.parquet", "dfe", "The survey side standardised as sendlink does it, in Splink's columns.")
SPLINK_NPD = File(f"{SPLINK_BUNDLE_FOLDER}/npd.parquet", "dfe", "The NPD side standardised as sendlink does it, in Splink's columns.")
SPLINK_TERM_FREQUENCIES = {
    column: File(f"{SPLINK_BUNDLE_FOLDER}/{column}.parquet", "dfe", f"Term-frequency lookup of {field}, counted on the NPD.")
    for column, field in (("fn_tf", "forename"), ("sn_tf", "surname"), ("pc_tf", "postcode"),
                          ("hh_same", "the household level with the same school"),
                          ("hh_other", "the household level with another school"),
                          ("hh_nosch", "the household level without a school"))
}
SPLINK_PAIRS = File(f"{SPLINK_BUNDLE_FOLDER}/pairs.parquet", "dfe", "sendlink's candidate pairs as Splink's blocked-pairs table.")


def splink_settings_file(dialect: str, functions: str) -> File:
    """The Splink settings, thresholds and blocking rules for one SQL dialect and source of string measures."""
    return File(f"{SPLINK_BUNDLE_FOLDER}/settings_{dialect}_{functions}.json", "dfe",
                f"The trained model as Splink settings ({dialect} SQL, {functions} string measures), thresholds and blocking rules.")


#: The bundle's fixed files (the settings file is named by :func:`splink_settings_file`).
SPLINK_BUNDLE = (SPLINK_SURVEY, SPLINK_NPD, *SPLINK_TERM_FREQUENCIES.values(), SPLINK_PAIRS)

# --- The researchers' extract (data/research/) -------------------------------------
EXTRACT = File.of(research.EXTRACT)
EXTRACT_STRICT = File("data/research/extract_strict.parquet", "researchers", "The extract with only the most probable links (linkage sensitivity).", research.EXTRACT)
EXTRACT_LOOSE = File("data/research/extract_loose.parquet", "researchers", "The extract with probable clerical-review links too (linkage sensitivity).", research.EXTRACT)
#: The three extracts, by link rule.
EXTRACTS = {"main": EXTRACT, "strict": EXTRACT_STRICT, "loose": EXTRACT_LOOSE}
K_ANONYMITY = File("data/research/k_anonymity.json", "researchers", "The k-anonymity report of the extracts.")
RESEARCH_README = File("data/research/README.md", "researchers", "What the research files are and what was done to them.")
FRAME_TOTALS = File("data/research/frame_totals.csv", "researchers",
                    "DfE's counts of frame pupils by category and stratum (rounded, small counts blanked): for balance checks and the bootstrap.")
REPLICATES = File("data/research/replicates.parquet", "researchers",
                  "The survey organisation's bootstrap replicates of the main extract's rows: multipliers, survey weights and consent probabilities per replicate.")
ESTIMATES = File("data/research/analysis/estimates.csv", "researchers", "Every model's estimates, disclosure-checked.")
WEIGHTS = File("data/research/analysis/weights.csv", "researchers", "The distribution of the analysis weights, disclosure-checked.")
CONSENT_MODEL = File("data/research/analysis/consent_model.csv", "researchers", "Odds ratios of the consent-and-link model, disclosure-checked.")
SENSITIVITY = File("data/research/analysis/sensitivity.csv", "researchers", "Estimates on the strict and loose extracts, disclosure-checked.")
BALANCE = File("data/research/analysis/balance.csv", "researchers", "Standardised differences of frame characteristics against DfE's frame totals, disclosure-checked.")
TIPPING_POINTS = File("data/research/analysis/tipping_points.csv", "researchers", "Delta-adjustment tipping points of each conclusion (missing not at random).")

# --- For everyone --------------------------------------------------------------------
SUMMARY = File("data/summary.json", "everyone", "The run's headline numbers (disclosure-checked aggregates; truth checks added by evaluation).")
DATA_DICTIONARY = File("data/README.md", "everyone", "The data dictionary, generated from the schema.")
HEADLINE = File("pages/_headline.md", "everyone", "The landing page's headline results, written from the summary for the reports.")
#: Measurements by the benchmarks (``make bench``) that the notebooks quote.
FEBRL_RESULTS = File("benchmarks/results/febrl.json", "everyone", "Linkage of the public FEBRL sets.")
VARIATION_RESULTS = File("benchmarks/results/link_variation.json", "everyone", "Linkage of a population from an independent generator.")
SIMULATION_RESULTS = File("benchmarks/results/simulation.json", "everyone", "Bias and coverage of the estimators over many synthetic worlds.")
PPRL_ACCURACY_RESULTS = File("benchmarks/results/pprl_accuracy.json", "everyone", "Encoded against plain linkage on the cohort, FEBRL4 and an independent generator.")
PPRL_ATTACK_RESULTS = File("benchmarks/results/pprl_attack.json", "everyone", "Attacks on encoded names and the hardening table.")
PPRL_SCALE_RESULTS = File("benchmarks/results/pprl_scale.json", "everyone", "Encoded linkage at national scale: time and memory against the plain linker.")
DEGRADED_LINKAGE_RESULTS = File("benchmarks/results/simulation_degraded_linkage.json", "everyone",
                                "The simulation in the degraded-linkage preset (linkage error that depends on the outcome).")
MNAR_TIPPING_RESULTS = File("benchmarks/results/mnar_tipping.json", "everyone",
                            "The MNAR preset's tipping points beside the dependence the preset builds in.")
SIMULATION_FIGURE = File("benchmarks/results/simulation.png", "everyone", "The simulation's bias, coverage and standard-error ratios by class of effect.")

#: Every file above, in data-flow order (the truth files are in :mod:`sendlink.schema.truth`).
FILES: tuple[File, ...] = (
    MANIFEST, *NPD, *SURVEY,
    CONSENT_STATUS, REGISTER_EXPORT, *HOLDINGS.values(), REGISTER_DB, ERASURE_LOG, WORLD,
    SURVEY_SPINE, DECISIONS, LINKS, PAIRS, MODEL, REVIEW_QUEUE, LINKAGE_QUALITY,
    PPRL_SURVEY_MAPPING, PPRL_SURVEY_LINKS, PPRL_NPD_MAPPING, PPRL_LINKS, *LINKAGE_UNIT,
    *EXTRACTS.values(), K_ANONYMITY, RESEARCH_README, FRAME_TOTALS, REPLICATES,
    ESTIMATES, WEIGHTS, CONSENT_MODEL, SENSITIVITY, BALANCE, TIPPING_POINTS,
    SUMMARY, DATA_DICTIONARY, HEADLINE, FEBRL_RESULTS, VARIATION_RESULTS, SIMULATION_RESULTS, DEGRADED_LINKAGE_RESULTS, MNAR_TIPPING_RESULTS, SIMULATION_FIGURE,
    PPRL_ACCURACY_RESULTS, PPRL_ATTACK_RESULTS, PPRL_SCALE_RESULTS,
)

#: The tables at their contracts' own paths, in data-flow order (what the data dictionary documents).
TABLES: tuple[File, ...] = tuple(f for f in FILES if f.contract is not None and f.contract.metadata["path"] == f.path)
