"""Tables and figures of linking without names, for chapter 7 (``notebooks/07_pprl.ipynb``).

The chapter stays thin: every number it shows is computed here, from the
encodings (:mod:`sendlink.pprl.encode`), the pipeline's three-party run
(:mod:`sendlink.pprl.stage`) and the measurements in
``benchmarks/results/`` (``pprl_accuracy.json``, ``pprl_attack.json``,
``pprl_scale.json``), which the chapter reads rather than recomputes.
Nothing here returns a person's identifier: similarity examples are made
from the names a caller passes, and counts are of encodings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sendlink.pprl import bloom
from sendlink.pprl.encode import EncodedSpine, EncodingParams, encode_spine
from sendlink.pprl.similarity import band, dice

__all__ = [
    "accuracy_figure", "accuracy_table", "attack_figure", "attack_table", "filter_bits_figure", "frequency_leak",
    "scale_table", "similarity_examples",
]


def _spine(names: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame({"upn": [f"X{i}" for i in range(len(names))], "forename": [a for a, _ in names],
                         "surname": [b for _, b in names]})


def similarity_examples(pairs: list[tuple[str, str]], secret: bytes, params: EncodingParams,
                        bands: tuple[float, float]) -> pd.DataFrame:
    """For pairs of forenames: bigram Dice of the plain names, Dice of their Bloom filters, and the band.

    Shows that the filters keep the plain names' similarity (a little above
    it: bits shared by chance) without the names.
    """
    left = encode_spine(_spine([(a, "x") for a, _ in pairs]), "upn", secret, params)
    right = encode_spine(_spine([(b, "x") for _, b in pairs]), "upn", secret, params)
    filters = dice(left.filters["forename"], right.filters["forename"])
    plain = []
    for a, b in pairs:
        ga, gb = bloom.qgrams(a.lower()), bloom.qgrams(b.lower())
        shared = sum(min(ga.count(g), gb.count(g)) for g in set(ga))
        plain.append(2 * shared / (len(ga) + len(gb)))
    labels = np.array(["exact", "close", "similar", "different"])
    return pd.DataFrame({"name A": [a for a, _ in pairs], "name B": [b for _, b in pairs],
                         "bigram Dice": np.round(plain, 3), "filter Dice": np.round(filters, 3),
                         "band": labels[band(filters, thresholds=bands)]})


def filter_bits_figure(names: list[str], secret: bytes, params: EncodingParams):
    """The forename filters of a few names as rows of bits (a bit set is a dark cell)."""
    import matplotlib.pyplot as plt

    enc = encode_spine(_spine([(n, "x") for n in names]), "upn", secret, params)
    bits = bloom.unpack(enc.filters["forename"], params.filter_length)
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(names) + 0.8))
    ax.imshow(bits, aspect="auto", cmap="Greys", interpolation="nearest")
    ax.set_yticks(range(len(names)), labels=names)
    ax.set_xlabel(f"bit position (of {params.filter_length})")
    ax.set_title("Forename Bloom filters: similar names set many of the same bits")
    fig.tight_layout()
    return fig


def accuracy_table(results: dict) -> pd.DataFrame:
    """``pprl_accuracy.json`` as one row per dataset and linker."""
    rows = []
    for r in results["rows"]:
        for linker in ("plain", "encoded"):
            m = r[linker]
            rows.append({"dataset": r["dataset"], "linker": linker, "precision": m["precision"], "recall": m["recall"],
                         "F1": m["f1"], "recall with review": m["with_review"]["recall"],
                         "blocking recall": m.get("blocking_recall", np.nan)})
    return pd.DataFrame(rows)


def accuracy_figure(results: dict):
    """Recall of plain and encoded linkage per dataset (precision is shown in the table: it barely moves)."""
    import matplotlib.pyplot as plt

    table = accuracy_table(results)
    datasets = list(dict.fromkeys(table["dataset"]))
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    width = 0.38
    for k, linker in enumerate(("plain", "encoded")):
        values = table[table["linker"] == linker].set_index("dataset").loc[datasets, "recall"]
        bars = ax.bar(np.arange(len(datasets)) + (k - 0.5) * width, values, width, label=linker,
                      color=("#4c72b0" if linker == "plain" else "#dd8452"))
        ax.bar_label(bars, labels=[f"{v:.3f}" for v in values], fontsize=8)
    ax.set_xticks(range(len(datasets)), labels=datasets)
    ax.set_ylim(0.9, 1.0)
    ax.set_ylabel("recall (matched links)")
    ax.set_title("The accuracy cost of encoding: recall, plain vs encoded")
    ax.legend(loc="lower left")
    fig.tight_layout()
    return fig


def attack_table(results: dict) -> pd.DataFrame:
    """``pprl_attack.json``'s hardening table: accuracy and the share of names each attack recovers."""
    frame = pd.DataFrame(results["table"])
    return pd.DataFrame({
        "encoding": frame["variant"], "F1": frame["f1"],
        "forenames, pattern mining": frame["forename_reidentified"],
        "forenames, frequency": frame["forename_frequency_reidentified"],
        "surnames, pattern mining": frame["surname_reidentified"],
        "surnames, frequency": frame["surname_frequency_reidentified"],
    })


def attack_figure(results: dict):
    """Share of NPD forenames recovered by each attack, and F1, per encoding."""
    import matplotlib.pyplot as plt

    table = attack_table(results)
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    y = np.arange(len(table))
    ax.barh(y - 0.2, table["forenames, frequency"], 0.4, label="frequency attack", color="#c44e52")
    ax.barh(y + 0.2, table["forenames, pattern mining"], 0.4, label="pattern-mining attack", color="#8172b2")
    ax.set_yticks(y, labels=table["encoding"])
    ax.invert_yaxis()
    ax.set_xlabel("share of NPD forenames recovered")
    ax.set_title("Attacks on DfE's encoded NPD, by encoding")
    for i, f1 in enumerate(table["F1"]):
        ax.text(1.0, i, f"F1 {f1:.3f}", va="center", ha="right", fontsize=8)
    ax.set_xlim(0, 1.0)
    ax.legend(loc="lower center", fontsize=8)
    fig.tight_layout()
    return fig


def scale_table(results: dict) -> pd.DataFrame:
    """``pprl_scale.json``: wall time, CPU time and peak memory per step."""
    labels = {"encode_npd": "DfE encodes the NPD", "encode_survey": "survey organisation encodes",
              "link_encoded": "linkage unit links", "plain_linker": "plain linker (comparison)"}
    return pd.DataFrame([{"step": labels.get(k, k), "wall (s)": v["wall_s"], "CPU (s)": v["cpu_s"],
                          "peak memory (GB)": v["peak_gb"]} for k, v in results["steps"].items()])


def frequency_leak(encoded: EncodedSpine, field: str = "forename", top: int = 5) -> pd.DataFrame:
    """What the linkage unit sees without any key: how many records share each of the commonest filters.

    Identical values give identical filters, so the counts are the values'
    counts: set beside a public list of name frequencies, the commonest
    filter is probably the commonest name (:mod:`sendlink.pprl.attack`).
    """
    words = np.ascontiguousarray(encoded.filters[field][encoded.present[field]])
    view = words.view(np.dtype((np.void, words.dtype.itemsize * words.shape[1]))).ravel()
    _, counts = np.unique(view, return_counts=True)
    counts = np.sort(counts)[::-1][:top]
    return pd.DataFrame({"rank": np.arange(1, len(counts) + 1), "records sharing the filter": counts,
                         "share of records": counts / max(len(words), 1)})
