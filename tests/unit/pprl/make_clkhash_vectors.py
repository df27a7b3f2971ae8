"""Make ``clkhash_vectors.json``: reference vectors from clkhash 0.18.3 (Data61's reference implementation).

clkhash is not a dependency of sendlink (see ``sendlink.pprl``); run this in
a scratch environment::

    python -m venv /tmp/clk && /tmp/clk/bin/pip install clkhash==0.18.3
    /tmp/clk/bin/python tests/unit/pprl/make_clkhash_vectors.py > tests/unit/pprl/clkhash_vectors.json

The vectors: bigram and positional-unigram tokenisation, bit positions of
``doubleHash`` and ``blakeHash`` for a few names and (k, l), HKDF keys, and
whole record-level CLKs from ``generate_clks`` with a two-field schema.
"""
import base64
import json
import sys

import clkhash
from clkhash import bloomfilter, comparators
from clkhash.clk import generate_clks
from clkhash.key_derivation import hkdf
from clkhash.schema import from_json_dict

out = {"clkhash_version": clkhash.__version__ if hasattr(clkhash, "__version__") else "0.18.3"}
tok = comparators.NgramComparison(2)
out["bigrams_steve"] = list(tok.tokenize("steve"))
out["bigrams_smith"] = list(tok.tokenize("smith"))
pos = comparators.NgramComparison(1, positional=True)
out["positional_unigrams_20090317"] = list(pos.tokenize("20090317"))

key_sha1, key_md5 = b"sendlink key one", b"sendlink key two"
vec = []
for word in ["steve", "smith", "smyth"]:
    grams = list(tok.tokenize(word))
    for k, length in [(2, 30), (10, 1024), (20, 1000)]:
        bf = bloomfilter.double_hash_encode_ngrams(grams, (key_sha1, key_md5), [k] * len(grams), length, "utf-8")
        vec.append({"scheme": "double", "word": word, "k": k, "l": length,
                    "positions": [i for i, b in enumerate(bf) if b]})
    for k, length in [(10, 1024), (40, 512)]:
        bf = bloomfilter.blake_encode_ngrams(grams, (b"sendlink blake key",), [k] * len(grams), length, "utf-8")
        vec.append({"scheme": "blake", "word": word, "k": k, "l": length,
                    "positions": [i for i, b in enumerate(bf) if b]})
out["keys"] = {"sha1": key_sha1.decode(), "md5": key_md5.decode(), "blake": "sendlink blake key"}
out["filters"] = vec

salt = base64.b64decode("SCbL2zHNnmsckfzchsNkZY9XoHk96P/G5nUBrM7ybymlEFsMV6PAeDZCNp3rfNUPCtLDMOGQHG4pCQpfhiHCyA==")
info = base64.b64decode("c2NoZW1hX2V4YW1wbGU=")
keys = hkdf(b"correct horse battery staple", 4, salt=salt, info=info, key_size=64)
out["hkdf"] = {"secret": "correct horse battery staple", "salt_b64": base64.b64encode(salt).decode(),
               "info_b64": base64.b64encode(info).decode(), "num_keys": 4, "key_size": 64,
               "keys_hex": [k.hex() for k in keys]}

schema = {
  "version": 3,
  "clkConfig": {"l": 1024, "kdf": {"type": "HKDF", "hash": "SHA256", "salt": base64.b64encode(salt).decode(),
                "info": base64.b64encode(info).decode(), "keySize": 64}},
  "features": [
    {"identifier": "id", "ignored": True},
    {"identifier": "forename", "format": {"type": "string", "encoding": "utf-8"},
     "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerToken": 20}, "hash": {"type": "blakeHash"}}},
    {"identifier": "surname", "format": {"type": "string", "encoding": "utf-8"},
     "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerToken": 20}, "hash": {"type": "doubleHash"}}},
  ],
}
rows = [["0", "steve", "smith"], ["1", "zoe", "o brien"], ["2", "mohammed", "khan"]]
clks = generate_clks(rows, from_json_dict(schema), "correct horse battery staple")
out["clk_schema"] = schema
out["clk_rows"] = rows
out["clks_hex"] = [c.tobytes().hex() for c in clks]
json.dump(out, sys.stdout, indent=1)
