"""Privacy-preserving record linkage (PPRL): linking on encodings of identifiers (issue 18).

Today the survey organisation sends DfE the names, dates of birth and
postcodes of consented children. With PPRL each data holder encodes its
identifiers with a secret the two share and the linkage unit never sees;
the linkage unit compares encodings and returns links by key. It does
*not* hide from DfE which NPD records were matched (DfE receives the links),
and encodings keep frequencies, which attacks exploit
(:mod:`~sendlink.pprl.attack`).

The parts, one module each
--------------------------
:mod:`~sendlink.pprl.keys`
    HKDF (RFC 5869) keys per purpose from the shared secret; key check values.
:mod:`~sendlink.pprl.bloom`
    Bloom filters of q-grams (Schnell, Bachteler & Reiher 2009), bit
    positions exactly as clkhash computes them (``blake``, ``double``),
    packed ``uint64`` filters, popcount, XOR-folding, balancing.
:mod:`~sendlink.pprl.encode`
    A spine -> field-level filters, record-level CLK, keyed tokens and keyed
    blocking keys (:func:`encode_spine`), standardised first with the
    linker's own rules; Parquet files (:func:`write_encoded`, :func:`read_encoded`).
:mod:`~sendlink.pprl.similarity`
    Vectorised Dice over candidate pairs; similarity bands.
:mod:`~sendlink.pprl.blocking`
    Candidate pairs from keyed blocking keys and Hamming LSH.
:mod:`~sendlink.pprl.attack`
    Pattern-mining (Christen et al. 2018) and frequency-alignment attacks,
    and the hardening table (:func:`attack_table`).
:mod:`~sendlink.pprl.pseudonyms`
    Per-run random pseudonyms for survey ids and UPNs, and mapping links back.
:mod:`~sendlink.pprl.levels`
    The linker's :class:`~sendlink.link.compare.Comparison` objects with each
    level tested on encodings (similarity bands of the filters, keyed tokens).
:mod:`~sendlink.pprl.linker`
    The linkage unit's linker (:func:`link_encoded`): blocking on keyed keys
    and LSH, then the plain linker's u, EM, term frequencies, scoring,
    one-to-one assignment and thresholds; the one-sided review queue.
:mod:`~sendlink.pprl.cli`, :mod:`~sendlink.pprl.link_command`, :mod:`~sendlink.pprl.stage`
    ``sendlink encode``, ``sendlink link --encoded``, ``sendlink map-back``;
    the pipeline's ``pprl`` stage (the three parties on the cohort).
:mod:`~sendlink.pprl.report`
    Tables and figures for chapter 7.

Three parties
-------------
The survey organisation and DfE each pseudonymise and encode their spine
with the shared secret (``params.yaml`` ``pprl.key_env`` / ``pprl.key_file``,
the rules of :mod:`sendlink.keys`; the public demo secret only for the
generator's own world). The linkage unit (``data/linkage_unit/``) holds the
two encoded files and nothing else, links them and returns links by
pseudonym; each data holder maps its own column back.

Clerical review without names
-----------------------------
The linkage unit's review queue (:func:`sendlink.pprl.linker.review_queue`)
holds pseudonyms, comparison levels, Dice similarities and weights: a
reviewer decides from the pattern of agreement, never from names, and the
decisions (by pseudonym) are honoured on the next run. What that costs, and
the alternative (two-sided review, each data holder checking its own side),
is in chapter 7 and on the secure-environment page.

Why not clkhash and anonlink (checked for issue 18)
----------------------------------------------------
clkhash (encoding) and anonlink (Dice matching), both from CSIRO's Data61,
are the reference implementations. Checked in a scratch environment
(Python 3.11, numpy 2.4, pandas 2.3):

* **Maintenance.** Last releases clkhash 0.18.3 and anonlink 0.15.3, both
  May 2023; nothing since.
* **Compatibility.** Both install on Python 3.11, and anonlink's Dice and
  greedy solver ran correctly on numpy 2.4. But clkhash pins
  ``cryptography>=40,<41`` (40.0.2 is what it gets; later releases fixed
  published vulnerabilities) and ``mypy_extensions<0.5`` (installing it
  into this project's environment downgrades mypy_extensions 1.2 to 0.4.4),
  and ``bitarray<3``. anonlink ships binary wheels only up to CPython 3.11:
  on 3.12 or 3.13 it must compile C++ from source, and it needs Cython at
  run time. The project promises "Python 3.11+ from a clean clone".
* **Fit.** anonlink computes Dice all-against-all above a threshold and
  solves greedily; the project needs Dice for *given* candidate pairs
  (from its own blocking) feeding a Fellegi-Sunter model, its one-to-one
  assignment and clerical review. That is one AND and one popcount per 64
  bits in numpy (``numpy.bitwise_count``). Measured here on 2,000 x 2,000
  random 1,024-bit filters: numpy scores the 4 M given pairs in 1.1 s
  (3.7 M pairs/s); anonlink's C++ compares all 4 M in 0.08 s when none
  passes its threshold (50 M/s) but takes 4.4 s when it must return them
  all. anonlink is far faster all-against-all; on blocked pairs (tens of
  thousands to a few million here) numpy's cost is seconds at most.
* **Correctness.** clkhash's output matches the published construction,
  and so does ours: :mod:`~sendlink.pprl.bloom` reproduces clkhash's
  ``doubleHash`` (Schnell's HMAC-SHA1/HMAC-MD5 double hashing) and
  ``blakeHash`` bit positions, its HKDF key derivation and a full
  record-level CLK byte for byte (``tests/unit/pprl/clkhash_vectors.json``,
  made with clkhash 0.18.3), and the RFC 5869 HKDF test vectors.

So the construction is implemented here (about 200 lines) and tested
against clkhash's vectors; files stay interchangeable with clkhash's at
the bit level given the same keys.

Functions to call
-----------------
* :func:`encode_spine` ``(frame, key, secret, params)`` -> :class:`EncodedSpine`.
* :func:`write_encoded`, :func:`read_encoded`: the encoded file a data holder sends.
* :func:`candidate_pairs` ``(survey, npd)``: blocking on encodings.
* :func:`field_similarity`, :func:`dice_pairs`, :func:`band`: similarities and bands.
* :func:`attack_table`, :func:`pattern_mining_attack`, :func:`frequency_attack`.
* :func:`link_encoded`, :func:`review_queue`: the linkage unit.
* :func:`pseudonymise`, :func:`map_back`: the data holders' pseudonyms.
"""

from sendlink.pprl.attack import (
    AttackResult,
    attack_table,
    frequency_attack,
    pattern_mining_attack,
    score_guesses,
)
from sendlink.pprl.blocking import candidate_pairs, lsh_keys
from sendlink.pprl.encode import (
    DEFAULT_BLOCKING,
    DEFAULT_FIELDS,
    EncodedSpine,
    EncodingParams,
    FieldSpec,
    encode_spine,
    field_similarity,
    read_encoded,
    write_encoded,
)
from sendlink.pprl.keys import DEMO_SECRET, key_check_value
from sendlink.pprl.linker import link_encoded, review_queue
from sendlink.pprl.pseudonyms import map_back, pseudonymise
from sendlink.pprl.similarity import DEFAULT_BANDS, band, dice, dice_pairs

__all__ = [
    "DEFAULT_BANDS", "DEFAULT_BLOCKING", "DEFAULT_FIELDS", "DEMO_SECRET", "AttackResult", "EncodedSpine", "EncodingParams",
    "FieldSpec", "attack_table", "band", "candidate_pairs", "dice", "dice_pairs", "encode_spine", "field_similarity",
    "frequency_attack", "key_check_value", "link_encoded", "lsh_keys", "map_back", "pattern_mining_attack", "pseudonymise",
    "read_encoded", "review_queue", "score_guesses", "write_encoded",
]
