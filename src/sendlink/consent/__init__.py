"""The consent register and data-subject rights, enforced through the pipeline.

Public API
----------
For the pipeline:

* :func:`sendlink.consent.stage.run` (``paths, params``): import the fieldwork
  events, apply consent as of ``consent.as_of``, write the status table, the
  survey organisation's holdings, the survey spine for DfE and the erasure
  log.

For the research-extract stage (read ``data/survey_org/consent_status.parquet``):

* :func:`linkage_permitted` (status) -> boolean Series: may the case be linked
  at all (the predicate deciding who reaches the survey spine);
* :func:`linked_data_permitted` (status, scope): may answers of ``scope`` be
  joined to linked NPD data;
* :func:`analysis_permitted` (status): may the answers be analysed;
* :func:`permitted_ids` (status, purpose): the survey ids, as a set.

A case missing from the status table (erased) is permitted nothing.

For notebooks and tools: :func:`status` and :func:`enforced_status` (pure
replay), :func:`explain`, :data:`RULES` / :func:`rules_table`,
:class:`Register`, :func:`context`, :func:`explain_case`,
:func:`status_table`, :func:`record_request` for rights requests, and
:mod:`sendlink.consent.summary` (consent rates and consent bias).

Modules: ``files`` (the stage's files from the catalogue), ``keys`` (keyed
hashes), ``register`` (the SQLite log), ``rules`` (pure rules; the
interpretations are in its docstring), ``stage`` (the stage), ``requests``
and ``identifiers`` (rights requests), ``access`` (access reports),
``summary``, ``cli`` and ``rights_cli``. The ``consent:`` parameters are
:class:`sendlink.params.consent.ConsentParams`.
"""

from sendlink.consent.register import Register
from sendlink.consent.requests import Request, record_request
from sendlink.consent.rules import (
    RULES,
    RuleParams,
    analysis_permitted,
    enforced_status,
    explain,
    linkage_permitted,
    linked_data_permitted,
    permitted_ids,
    rules_table,
    status,
)
from sendlink.consent.stage import context, explain_case, status_table

__all__ = [
    "RULES",
    "Register",
    "Request",
    "RuleParams",
    "analysis_permitted",
    "context",
    "enforced_status",
    "explain",
    "explain_case",
    "linkage_permitted",
    "linked_data_permitted",
    "permitted_ids",
    "record_request",
    "rules_table",
    "status",
    "status_table",
]
