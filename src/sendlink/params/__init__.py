"""Every tunable number of ``params.yaml``, as one typed object validated once.

:func:`load_params` reads ``params.yaml`` and validates the whole file
against :class:`Params` before any work starts, so a misspelt key, a missing
key or a value out of range stops the run with the file and the key's path
named (``linkage.thresholds.review: Input should be greater than 0``). The
object is immutable and is passed down: a stage's ``run(paths, params)``
takes it whole, and the building blocks below a stage take the section they
use (:class:`~sendlink.params.linkage.LinkageParams`,
:class:`~sendlink.params.disclosure.DisclosureParams`, ...).

``params.yaml`` is the one place a value lives. The models here declare
each key's type, range and meaning, and have **no defaults**: a key missing
from the file, or present in the file and unknown to the model, is an
error. The two cannot drift apart, and no number is written twice.

One module per section, in data-flow order: :mod:`~sendlink.params.synth`,
:mod:`~sendlink.params.consent`, :mod:`~sendlink.params.linkage`,
:mod:`~sendlink.params.deidentify`, :mod:`~sendlink.params.disclosure`,
:mod:`~sendlink.params.outcomes`, :mod:`~sendlink.params.pprl`.

Adding a parameter
------------------
Add the field to its section's model (type, range, and a line in the
model's docstring saying what it means and why the value is what it is),
then add the value, with a comment, to ``params.yaml``. A new section is a
new module here and a new field of :class:`Params`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from sendlink.config import PARAMS_FILE, Paths
from sendlink.errors import ParameterError
from sendlink.params.consent import ConsentParams
from sendlink.params.deidentify import DeidentifyParams
from sendlink.params.disclosure import DisclosureParams
from sendlink.params.linkage import LinkageParams
from sendlink.params.outcomes import OutcomesParams
from sendlink.params.pprl import PprlParams
from sendlink.params.synth import SynthParams

__all__ = [
    "ConsentParams", "DeidentifyParams", "DisclosureParams", "LinkageParams", "OutcomesParams", "Params", "PprlParams",
    "SynthParams", "load_params", "override", "parse_params",
]


class Params(BaseModel):
    """The whole of ``params.yaml``.

    Attributes
    ----------
    seed
        The project's one seed: every random draw comes from a
        ``numpy.random.Generator`` seeded from it and passed explicitly.
    synth, consent, linkage, deidentify, disclosure, outcomes
        One section per stage (see each model's docstring).
    pprl
        Linking on encodings (issue 18): :class:`~sendlink.params.pprl.PprlParams`.
    source
        Where the values came from (a file, or ``command line`` after
        :func:`override`); named in error messages.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(ge=0)
    synth: SynthParams
    consent: ConsentParams
    linkage: LinkageParams
    deidentify: DeidentifyParams
    disclosure: DisclosureParams
    outcomes: OutcomesParams
    pprl: PprlParams

    _source: str = PrivateAttr(default=PARAMS_FILE)

    @property
    def source(self) -> str:
        return self._source


def _problems(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        shown = repr(err.get("input"))
        if len(shown) > 80:
            shown = shown[:77] + "..."
        got = "" if err["type"] == "missing" else f" (got {shown})"
        lines.append(f"  {key}: {err['msg']}{got}")
    return "\n".join(lines)


def parse_params(data: Mapping[str, Any], source: str = PARAMS_FILE) -> Params:
    """Validate a mapping shaped like ``params.yaml``.

    Raises
    ------
    ParameterError
        Naming ``source`` and the path of every key that is missing,
        unknown or out of range.
    """
    if not isinstance(data, Mapping):
        raise ParameterError(f"{source}: expected a mapping of sections at the top level")
    try:
        params = Params.model_validate(dict(data))
    except ValidationError as exc:
        raise ParameterError(f"{source}: invalid parameters\n{_problems(exc)}") from None
    params._source = str(source)
    return params


#: Top-level key of a parameter file that builds on another one (a preset).
EXTENDS_KEY = "extends"


def load_params(path: str | Path | None = None) -> Params:
    """Read and validate ``params.yaml`` (the project's, by default) or a preset built on it.

    A file with a top-level ``extends: OTHER.yaml`` (a path relative to the
    file) is a *preset*: ``OTHER.yaml`` is read first and this file's values
    are laid over it mapping by mapping (a mapping updates the same mapping
    key by key; any other value replaces it), so a preset lists only what it
    changes (``presets/*.yaml``). Presets may extend presets. The merged
    whole is validated as one file, so a preset cannot add an unknown key.

    Raises
    ------
    ParameterError
        If the file (or one it extends) is missing or is not YAML, if
        presets extend each other in a circle, or if the result does not
        validate.
    """
    path = Path(path) if path is not None else Paths.discover().params
    return parse_params(_read(path, ()), str(path))


def _read(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    if not path.is_file():
        raise ParameterError(f"{path}: parameter file not found" + (f" (extended by {seen[-1]})" if seen else ""))
    if path.resolve() in seen:
        chain = " -> ".join(str(p) for p in (*seen, path.resolve()))
        raise ParameterError(f"{path}: presets extend each other in a circle ({chain})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ParameterError(f"{path}: expected a mapping of sections at the top level")
    data = dict(data)
    base_name = data.pop(EXTENDS_KEY, None)
    if base_name is None:
        return data
    if not isinstance(base_name, str):
        raise ParameterError(f"{path}: '{EXTENDS_KEY}' must be the path of another parameter file")
    return _merge(_read(path.parent / base_name, (*seen, path.resolve())), data)


def _merge(base: Any, changes: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(changes, Mapping):
        return {**base, **{k: _merge(base.get(k), v) for k, v in changes.items()}}
    return changes


def override(params: Params, changes: Mapping[str, Any], source: str = "command line") -> Params:
    """``params`` with some values changed, validated again (``{"linkage": {"thresholds": {"match": 0.99}}}``).

    Raises
    ------
    ParameterError
        Naming ``source`` and the offending key.
    """
    return parse_params(_merge(params.model_dump(), changes), source)
