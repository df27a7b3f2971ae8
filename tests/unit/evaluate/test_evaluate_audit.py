"""The audit of automatically accepted links: its error rate with a Wilson interval (issue 14 rule 7)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sendlink.evaluate.linkage import audit_error_rate

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval, written out from its textbook formula (Wilson 1927; Brown, Cai & DasGupta 2001)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


TRUTH = pd.DataFrame({"survey_id": [f"S{i}" for i in range(10)], "upn": [f"U{i}" for i in range(9)] + [""]})  # S9 is not in the NPD
LINKS = pd.DataFrame({
    "survey_id": [f"S{i}" for i in range(10)],
    "upn": ["U0", "U1", "U2", "U3", "U4", "U5", "U6", "U99", "U8", "U7"],  # S7 and S9 linked wrongly
    "link_status": ["matched"] * 10,
    "decided_by": ["model"] * 10,
})


def queue(ids: list[str]) -> pd.DataFrame:
    rows = LINKS[LINKS["survey_id"].isin(ids)][["survey_id", "upn"]].assign(review_reason="audit")
    return pd.concat([rows, pd.DataFrame({"survey_id": ["S8"], "upn": ["U1"], "review_reason": ["uncertain"]})], ignore_index=True)


def test_error_rate_and_wilson_interval_of_the_sample():
    out = audit_error_rate(queue(["S0", "S1", "S7", "S9", "S3"]), TRUTH, LINKS)
    assert (out["sample_size"], out["errors"]) == (5, 2)  # the uncertain row is not part of the sample
    assert out["error_rate"] == pytest.approx(0.4)
    low, high = wilson(2, 5)
    assert (out["ci_low"], out["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    # every accepted link: 2 wrong of 10; the interval covers it
    assert out["population"] == {"accepted_links": 10, "errors": 2, "error_rate": 0.2, "covered": True}


def test_no_error_in_the_sample_still_has_an_upper_bound():
    out = audit_error_rate(queue(["S0", "S1", "S2", "S3"]), TRUTH, LINKS)
    assert out["errors"] == 0 and out["ci_low"] == pytest.approx(0.0, abs=1e-12)
    assert out["ci_high"] == pytest.approx(wilson(0, 4)[1]) and out["ci_high"] > 0.4


def test_reviewers_verdicts_give_the_estimate_a_real_study_has():
    decisions = pd.DataFrame({"survey_id": ["S7", "S0", "S5"], "upn": ["U99", "U0", "U5"], "decision": ["non-match", "match", "match"]})
    out = audit_error_rate(queue(["S0", "S7", "S3"]), TRUTH, LINKS, decisions=decisions)
    assert out["from_reviewers"]["reviewed"] == 2 and out["from_reviewers"]["non_matches"] == 1  # S5 was not audited
    assert out["from_reviewers"]["ci_high"] == pytest.approx(wilson(1, 2)[1])
    assert audit_error_rate(queue(["S0"]), TRUTH, LINKS)["from_reviewers"] is None


def test_an_empty_sample_reports_nothing_to_estimate():
    out = audit_error_rate(queue([]), TRUTH, LINKS)
    assert out["sample_size"] == 0 and out["error_rate"] is None and out["ci_low"] is None and out["population"]["covered"] is None
