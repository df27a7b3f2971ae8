"""The ``pprl:`` section of ``params.yaml``: linking on encodings (issue 18).

What the survey organisation and DfE must agree on besides the shared
secret (the encoding: :class:`Encoding`, turned into
:class:`sendlink.pprl.encode.EncodingParams` by :func:`sendlink.pprl.encode.encoding_params`),
where the secret comes from (``key_env``, ``key_file``: the rules of
:mod:`sendlink.keys`), and what the linkage unit does with the encodings:
the Dice bounds of the similarity bands (:class:`Bands`) and the blocking
(:class:`EncodedBlocking`). The Fellegi-Sunter model's settings and the
decision thresholds are the ``linkage:`` section's: encoded linkage is the
same model on other comparison levels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Bands", "EncodedBlocking", "Encoding", "FieldEncoding", "Lsh", "PprlParams"]

#: Parts a keyed blocking key may join (:func:`sendlink.pprl.encode.encode_spine` computes them).
BlockingPart = Literal["dob", "dob_sw", "dob_year", "surname_sx", "forename_sx", "postcode", "pc_district",
                       "forename_initial", "surname_initial", "school", "sex"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldEncoding(_Strict):
    """One field's Bloom filter: ``name``, ``tokens`` (``qgram`` or ``dob``), q-gram length ``q``, bits per token ``k``."""

    name: Literal["forename", "surname", "date_of_birth", "postcode"]
    tokens: Literal["qgram", "dob"]
    q: int = Field(ge=1, le=4)
    k: int = Field(ge=1, le=100)


class Encoding(_Strict):
    """The encoding both data holders use (:class:`sendlink.pprl.encode.EncodingParams` says what each means).

    ``length`` bits per field filter; ``hashing`` ``blake`` or ``double``;
    ``fields`` the field filters; hardening: ``salt`` (``birth_year`` or
    null), ``xor_folds``, ``balance``; ``clk`` (also a record-level filter
    of ``clk_length`` bits); ``blocking`` the keyed blocking keys (name ->
    the parts joined).
    """

    length: int = Field(ge=64)
    hashing: Literal["blake", "double"]
    fields: list[FieldEncoding] = Field(min_length=1)
    salt: Literal["birth_year"] | None
    xor_folds: int = Field(ge=0, le=4)
    balance: bool
    clk: bool
    clk_length: int = Field(ge=64)
    blocking: dict[str, list[BlockingPart]] = Field(min_length=1)

    @model_validator(mode="after")
    def _whole_words(self) -> Encoding:
        for name, bits in (("length", self.length), ("clk_length", self.clk_length)):
            if (bits >> self.xor_folds) % 64 or bits % 64:
                raise ValueError(f"{name} {bits} folded {self.xor_folds} times is not a whole number of 64-bit words")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("a field is encoded twice")
        return self


class Bands(_Strict):
    """Dice bounds of the similarity bands (reasons in :mod:`sendlink.pprl.similarity`).

    ``name_close``, ``name_similar``: forename and surname ``close`` (one
    slip in a name of seven letters or more) and ``similar`` (about two).
    ``dob_one_off``: a date whose year, month and day tokens share two of
    three (Dice 2/3 without chance bits). ``postcode_typo``: one character
    of a seven-character postcode wrong.
    """

    name_close: float = Field(gt=0, lt=1)
    name_similar: float = Field(gt=0, lt=1)
    dob_one_off: float = Field(gt=0, lt=1)
    postcode_typo: float = Field(gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if self.name_similar >= self.name_close:
            raise ValueError("name_similar must be below name_close")
        return self


class Lsh(_Strict):
    """Hamming LSH on one filter (``field``: ``clk`` or a field name): ``tables`` of ``bits`` sampled bits."""

    field: str
    tables: int = Field(ge=1, le=200)
    bits: int = Field(ge=1, le=63)


class EncodedBlocking(_Strict):
    """Blocking at the linkage unit: every keyed key in the files, keys shared by more than ``max_block_size`` NPD records skipped; optional ``lsh``."""

    max_block_size: int = Field(ge=1)
    lsh: Lsh | None


class PprlParams(_Strict):
    """The whole ``pprl:`` section.

    Attributes
    ----------
    key_env, key_file
        Where the shared PPRL secret comes from (the environment variable,
        else the file, outside the project and owner-only; else the public
        demo secret, only for the generator's own world: :mod:`sendlink.keys`).
        Separate from the register and research keys: the linkage unit's
        partners share it, nobody else.
    encoding
        :class:`Encoding`.
    bands
        :class:`Bands`.
    blocking
        :class:`EncodedBlocking`.
    """

    key_env: str = Field(min_length=1)
    key_file: str
    encoding: Encoding
    bands: Bands
    blocking: EncodedBlocking

    @property
    def key_path(self) -> Path:
        return Path(self.key_file).expanduser()

