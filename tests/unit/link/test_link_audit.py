"""The audit sample of automatically accepted links (issue 14 rule 7): no purely automated decisions."""

from __future__ import annotations

import pandas as pd
import pytest

from sendlink.link import clerical


def links(n: int = 50) -> pd.DataFrame:
    status = ["matched"] * (n - 10) + ["clerical_review"] * 5 + ["unmatched"] * 5
    decided = ["reviewer"] * 3 + ["model"] * (n - 3)  # the first three were confirmed by a reviewer
    return pd.DataFrame({
        "survey_id": [f"S{i:03d}" for i in range(n)], "upn": [f"U{i:03d}" if s != "unmatched" else "" for i, s in enumerate(status)],
        "match_probability": 0.99, "match_weight": 12.0, "link_status": status, "decided_by": decided,
    })


def test_the_sample_is_drawn_from_links_the_model_accepted_alone():
    sample = clerical.audit_sample(links(), 10, seed=7)
    assert len(sample) == 10 and sample["survey_id"].is_unique
    pool = links()
    accepted = set(pool.loc[(pool["link_status"] == "matched") & (pool["decided_by"] == "model"), "survey_id"])
    assert set(sample["survey_id"]) <= accepted
    assert not {"S000", "S001", "S002"} & set(sample["survey_id"])  # already confirmed by a person


def test_the_sample_is_the_same_for_the_same_seed_and_row_order_does_not_matter():
    a = clerical.audit_sample(links(), 10, seed=7)
    b = clerical.audit_sample(links().sample(frac=1, random_state=1), 10, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert not clerical.audit_sample(links(), 10, seed=8).equals(a)


def test_a_sample_larger_than_the_pool_takes_every_accepted_link_and_zero_takes_none():
    assert len(clerical.audit_sample(links(), 1000, seed=1)) == 37  # 40 matched, 3 confirmed by a reviewer
    assert clerical.audit_sample(links(), 0, seed=1).empty
    with pytest.raises(ValueError):
        clerical.audit_sample(links(), -1, seed=1)


def test_audited_links_join_the_review_queue_marked_as_such():
    frame = links()
    audit = clerical.audit_sample(frame, 4, seed=3)
    survey = pd.DataFrame({"survey_id": frame["survey_id"], "forename": "Amira"})
    npd = pd.DataFrame({"upn": frame["upn"], "forename": "Amira"})
    queue = clerical.build_review(frame, pd.DataFrame(columns=["survey_id", "upn"]), survey, npd, audit=audit)
    assert queue["review_reason"].value_counts().to_dict() == {"uncertain": 5, "audit": 4}
    assert set(queue.loc[queue["review_reason"] == "audit", "survey_id"]) == set(audit["survey_id"])
    assert list(queue.columns[:5]) == ["survey_id", "upn", "match_probability", "match_weight", "review_reason"]
    assert (queue[["decision", "reviewer", "date"]] == "").all().all()
