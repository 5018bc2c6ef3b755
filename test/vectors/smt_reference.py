#!/usr/bin/env python3
"""An independent reference of lotchain's state tree (src/core/smt.ts), on the standard library.

Builds the canonical compact sparse Merkle tree of a set of (key, value) pairs from its
definition alone (docs/storage.md), with none of lotchain's code:
  - no pairs: 32 zero bytes;
  - one pair: H("lotchain/smt-leaf/v1", key, value);
  - more: H("lotchain/smt-node/v1", tree(keys with next bit 0), tree(keys with next bit 1));
  H(tag, *parts) = SHA-256(tag || 0x00 || parts...).

  python3 smt_reference.py            writes smt.json next to this file (the vectors)
  python3 smt_reference.py --check    recomputes smt.json and fails if it differs
"""
import hashlib
import json
import os
import sys

EMPTY = bytes(32)


def tagged(tag, *parts):
    h = hashlib.sha256(tag.encode() + b"\x00")
    for p in parts:
        h.update(p)
    return h.digest()


def bit(key, depth):
    return (key[depth >> 3] >> (7 - (depth & 7))) & 1


def tree(pairs, depth=0):
    if not pairs:
        return EMPTY
    if len(pairs) == 1:
        key, value = pairs[0]
        return tagged("lotchain/smt-leaf/v1", key, value)
    left = [p for p in pairs if bit(p[0], depth) == 0]
    right = [p for p in pairs if bit(p[0], depth) == 1]
    return tagged("lotchain/smt-node/v1", tree(left, depth + 1), tree(right, depth + 1))


def proof(pairs, key, depth=0):
    """Siblings (top down) and the leaf the key's path ends in (None: empty)."""
    if not pairs:
        return [], None
    if len(pairs) == 1:
        return [], pairs[0]
    left = [p for p in pairs if bit(p[0], depth) == 0]
    right = [p for p in pairs if bit(p[0], depth) == 1]
    if bit(key, depth) == 0:
        siblings, leaf = proof(left, key, depth + 1)
        return [tree(right, depth + 1)] + siblings, leaf
    siblings, leaf = proof(right, key, depth + 1)
    return [tree(left, depth + 1)] + siblings, leaf


def key_of(n):
    # Keys as lotchain makes them from 20-byte account ids (here: 20 bytes of n).
    return tagged("lotchain/smt-key/v1", n.to_bytes(20, "big"))


def value_of(n, version=0):
    return bytes([0x83]) + n.to_bytes(4, "big") + bytes([version])


def vectors():
    sets = []
    for size in (0, 1, 2, 3, 5, 64, 300):
        pairs = [(key_of(n), value_of(n)) for n in range(size)]
        case = {
            "size": size,
            "pairs": [[k.hex(), v.hex()] for k, v in pairs],
            "root": tree(pairs).hex(),
            "proofs": [],
        }
        for probe in sorted({0, size // 2, size, size + 7}):
            key = key_of(probe)
            siblings, leaf = proof(pairs, key)
            case["proofs"].append(
                {
                    "key": key.hex(),
                    "siblings": [s.hex() for s in siblings],
                    "leaf": None if leaf is None else [leaf[0].hex(), leaf[1].hex()],
                    "present": leaf is not None and leaf[0] == key,
                }
            )
        sets.append(case)
    return {
        "description": "lotchain state tree (compact sparse Merkle tree) vectors, written by "
        "test/vectors/smt_reference.py (Python standard library, independent of the TypeScript "
        "code): roots of sets of (key, value) pairs and proofs for present and absent keys.",
        "sets": sets,
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "smt.json")
    text = json.dumps(vectors(), indent=2) + "\n"
    if "--check" in sys.argv:
        with open(path) as f:
            if json.load(f) != json.loads(text):
                print("smt.json differs from the reference", file=sys.stderr)
                sys.exit(1)
        print("smt.json matches the reference")
        return
    with open(path, "w") as f:
        f.write(text)
    print("wrote", path)


if __name__ == "__main__":
    main()
