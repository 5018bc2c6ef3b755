#!/usr/bin/env python3
"""An independent implementation of lotchain's formats, checked against test/vectors/.

Written from the specifications (docs/protocol.md, docs/consensus.md, RFC 8032, RFC 9381,
BIP 350, RFC 8949), not from lotchain's TypeScript, on Python 3's standard library only. It
recomputes every value of the vector files: keys and addresses, canonical encodings, hashes,
signatures, Merkle roots, block headers and hashes, the lottery, slot seeds, VRF proofs, epoch
nonces, PoW work, retargets and hashes; and it refuses every input of invalid.json. Its own
Ed25519, ECVRF and bech32m are first checked against the published vectors.

    python3 test/vectors/check_vectors.py        # exit 0: every vector agrees

npm test runs it when python3 is on the PATH (test/core/python-vectors.test.ts); .ci/run always.
"""

import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


def unhex(s):
    return bytes.fromhex(s)


def sha256(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


def sha512(*parts):
    return hashlib.sha512(b"".join(parts)).digest()


def tagged(domain, *parts):
    """Every lotchain hash: SHA-256(domain || 0x00 || data)."""
    return sha256(domain.encode(), b"\x00", *parts)


def u32be(n):
    return n.to_bytes(4, "big")


def u64be(n):
    return n.to_bytes(8, "big")


# ---------------------------------------------------------------- Ed25519 (RFC 8032, 5.1)

P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493  # group order L
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def inv(x):
    return pow(x, P - 2, P)


def point_add(a, b):
    # extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z
    aa = (a[1] - a[0]) * (b[1] - b[0]) % P
    bb = (a[1] + a[0]) * (b[1] + b[0]) % P
    cc = 2 * a[3] * b[3] * D % P
    dd = 2 * a[2] * b[2] % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def point_mul(s, pt):
    acc = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            acc = point_add(acc, pt)
        pt = point_add(pt, pt)
        s >>= 1
    return acc


def point_neg(pt):
    return ((-pt[0]) % P, pt[1], pt[2], (-pt[3]) % P)


def point_equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * inv(D * y * y + 1) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


BY = 4 * inv(5) % P
BASE = (recover_x(BY, 0), BY, 1, recover_x(BY, 0) * BY % P)


def point_compress(pt):
    zinv = inv(pt[2])
    x, y = pt[0] * zinv % P, pt[1] * zinv % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def point_decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


def secret_expand(seed):
    h = sha512(seed)
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def ed25519_public(seed):
    a, _ = secret_expand(seed)
    return point_compress(point_mul(a, BASE))


def ed25519_sign(seed, msg):
    a, prefix = secret_expand(seed)
    pub = point_compress(point_mul(a, BASE))
    r = int.from_bytes(sha512(prefix, msg), "little") % Q
    big_r = point_compress(point_mul(r, BASE))
    h = int.from_bytes(sha512(big_r, pub, msg), "little") % Q
    s = (r + h * a) % Q
    return big_r + s.to_bytes(32, "little")


def ed25519_verify(pub, msg, sig):
    if len(pub) != 32 or len(sig) != 64:
        return False
    a = point_decompress(pub)
    r = point_decompress(sig[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= Q:
        return False
    h = int.from_bytes(sha512(sig[:32], pub, msg), "little") % Q
    return point_equal(point_mul(s, BASE), point_add(r, point_mul(h, a)))


# ---------------------------------------------------------------- ECVRF-EDWARDS25519-SHA512-TAI
# RFC 9381, section 5 with the suite of 5.5: suite_string 0x03, cLen 16, cofactor 8,
# encode_to_curve by try-and-increment (5.4.1.1), nonce generation of RFC 8032 (5.4.2.2).

SUITE = b"\x03"


def vrf_encode_to_curve(pub, alpha):
    for ctr in range(256):
        h = sha512(SUITE, b"\x01", pub, alpha, bytes([ctr]), b"\x00")[:32]
        pt = point_decompress(h)
        if pt is not None:
            return point_mul(8, pt), ctr
    raise ValueError("encode_to_curve failed")


def vrf_challenge(*points):
    h = sha512(SUITE, b"\x02", *[point_compress(p) for p in points], b"\x00")
    return int.from_bytes(h[:16], "little")


def vrf_prove(seed, alpha):
    x, _ = secret_expand(seed)
    pub_point = point_mul(x, BASE)
    pub = point_compress(pub_point)
    h, _ = vrf_encode_to_curve(pub, alpha)
    gamma = point_mul(x, h)
    k = int.from_bytes(sha512(sha512(seed)[32:], point_compress(h)), "little") % Q
    c = vrf_challenge(pub_point, h, gamma, point_mul(k, BASE), point_mul(k, h))
    s = (k + c * x) % Q
    return point_compress(gamma) + c.to_bytes(16, "little") + s.to_bytes(32, "little")


def vrf_proof_to_hash(pi):
    gamma = point_decompress(pi[:32])
    if gamma is None:
        return None
    return sha512(SUITE, b"\x03", point_compress(point_mul(8, gamma)), b"\x00")


def vrf_verify(pub, alpha, pi):
    """beta when pi is pub's proof for alpha, else None (RFC 9381, 5.3, with key validation)."""
    y = point_decompress(pub)
    if y is None or len(pi) != 80 or point_equal(point_mul(8, y), (0, 1, 1, 0)):
        return None
    gamma = point_decompress(pi[:32])
    c = int.from_bytes(pi[32:48], "little")
    s = int.from_bytes(pi[48:], "little")
    if gamma is None or s >= Q:
        return None
    h, _ = vrf_encode_to_curve(pub, alpha)
    u = point_add(point_mul(s, BASE), point_neg(point_mul(c, y)))
    v = point_add(point_mul(s, h), point_neg(point_mul(c, gamma)))
    if vrf_challenge(y, h, gamma, u, v) != c:
        return None
    return vrf_proof_to_hash(pi)


# ---------------------------------------------------------------- bech32m (BIP 350)

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M_CONST = 0x2BC830A3
BECH32_CONST = 1


def bech32_polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((top >> i) & 1) else 0
    return chk


def hrp_expand(hrp):
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def bech32m_decode(text):
    """(hrp, 5-bit data) of a valid bech32m string, else None (BIP 350's decoder)."""
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        return None
    if text.lower() != text and text.upper() != text:
        return None
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text) or len(text) > 90:
        return None
    if not all(c in CHARSET for c in text[pos + 1 :]):
        return None
    hrp = text[:pos]
    data = [CHARSET.find(c) for c in text[pos + 1 :]]
    if bech32_polymod(hrp_expand(hrp) + data) != BECH32M_CONST:
        return None
    return hrp, data[:-6]


def bech32_create(hrp, data, const):
    polymod = bech32_polymod(hrp_expand(hrp) + data + [0] * 6) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in data + checksum)


def convert_bits(data, frombits, tobits, pad):
    acc, bits, out = 0, 0, []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return out


def address_of_account(account_id):
    return bech32_create("lc", convert_bits(account_id, 8, 5, True), BECH32M_CONST)


def address_of_key(pub):
    """bech32m with prefix lc over the first 20 bytes of SHA-256(public key)."""
    return address_of_account(sha256(pub)[:20])


def parse_address(text):
    decoded = bech32m_decode(text)
    if decoded is None or decoded[0] != "lc":
        return None
    data = convert_bits(decoded[1], 5, 8, False)
    return bytes(data) if data is not None and len(data) == 20 else None


# ---------------------------------------------------------------- canonical CBOR (RFC 8949 4.2.1)


def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for size, info in ((1, 24), (2, 25), (4, 26), (8, 27)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    raise ValueError("integer above 2^64 - 1")


def cbor(value):
    """Deterministic encoding of the types lotchain uses: unsigned ints, bytes, text, arrays."""
    if isinstance(value, bool) or value is None:
        raise TypeError("not used by lotchain")
    if isinstance(value, int):
        return cbor_head(0, value)
    if isinstance(value, (bytes, bytearray)):
        return cbor_head(2, len(value)) + bytes(value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return cbor_head(3, len(raw)) + raw
    if isinstance(value, list):
        return cbor_head(4, len(value)) + b"".join(cbor(v) for v in value)
    raise TypeError(type(value))


class Refused(Exception):
    pass


def cbor_decode_strict(data):
    """Decodes and re-encodes: anything but the one canonical encoding of a value is refused."""

    def item(i):
        if i >= len(data):
            raise Refused("truncated")
        major, info = data[i] >> 5, data[i] & 31
        i += 1
        if info < 24:
            n = info
        elif info in (24, 25, 26, 27):
            size = 1 << (info - 24)
            if i + size > len(data):
                raise Refused("truncated")
            n = int.from_bytes(data[i : i + size], "big")
            i += size
        else:
            raise Refused("indefinite length or reserved additional information")
        if major == 0:
            return n, i
        if major in (2, 3):
            if i + n > len(data):
                raise Refused("truncated")
            raw = data[i : i + n]
            return (bytes(raw) if major == 2 else raw.decode("utf-8")), i + n
        if major == 4:
            out = []
            for _ in range(n):
                v, i = item(i)
                out.append(v)
            return out, i
        if major == 6 and n == 2:  # unsigned bignum
            v, i = item(i)
            if not isinstance(v, bytes):
                raise Refused("bignum of a non-byte string")
            return int.from_bytes(v, "big"), i
        raise Refused(f"major type {major} is not used")

    value, end = item(0)
    if end != len(data):
        raise Refused("trailing bytes")
    try:
        canonical = cbor(value)
    except ValueError:
        canonical = None
    if canonical != bytes(data):
        # the one exception CBOR itself allows: a bignum above 2^64 - 1 (an amount out of range)
        if not (isinstance(value, list) and any(isinstance(v, int) and v >= 1 << 64 for v in value)):
            raise Refused("not the canonical encoding")
    return value


# ---------------------------------------------------------------- lotchain: transactions

TX_DOMAIN = "lotchain/tx/v1"
TX_TYPES = ["TRANSFER", "STAKE", "UNSTAKE", "EXCHANGE"]
U64 = 1 << 64


def tx_items(j):
    """The signed fields of a transaction's JSON, in encoding order (docs/protocol.md)."""
    receiver = parse_address(j["receiver"])
    if receiver is None:
        raise Refused(f"bad receiver {j['receiver']}")
    return [
        TX_DOMAIN,
        j["chainId"],
        TX_TYPES.index(j["type"]),
        unhex(j["senderPublicKey"]),
        receiver,
        int(j["amount"]),
        int(j["fee"]),
        j["nonce"],
        j["timestamp"],
    ]


def tx_encoded(j):
    return cbor(tx_items(j) + [unhex(j["signature"])])


def tx_id(encoded):
    return tagged("lotchain/txid/v1", encoded).hex()


def decode_tx_strict(data):
    """The checks of a transaction decoder: shape, types, ranges. Raises Refused(code, why)."""
    try:
        items = cbor_decode_strict(data)
    except (Refused, UnicodeDecodeError) as e:
        raise Refused("Malformed", str(e))
    if not isinstance(items, list) or len(items) != 10:
        raise Refused("Malformed", "not an array of 10 items")
    domain, chain, kind, sender, receiver, amount, fee, nonce, timestamp, sig = items
    if domain != TX_DOMAIN:
        raise Refused("Malformed", "domain")
    if not isinstance(chain, str):
        raise Refused("Malformed", "chain id")
    if not isinstance(kind, int) or not 0 <= kind < len(TX_TYPES):
        raise Refused("Malformed", "type")
    if not isinstance(sender, bytes) or len(sender) != 32:
        raise Refused("Malformed", "sender key")
    if not isinstance(receiver, bytes) or len(receiver) != 20:
        raise Refused("Malformed", "receiver must be 20 bytes")
    for v in (amount, fee):
        if not isinstance(v, int) or not 0 <= v < U64:
            raise Refused("Malformed", "amount or fee out of the u64 range")
    for v in (nonce, timestamp):
        if not isinstance(v, int) or not 0 <= v < 2**53:
            raise Refused("Malformed", "nonce or timestamp")
    if not isinstance(sig, bytes) or len(sig) != 64:
        raise Refused("Malformed", "signature")
    return items


def tx_signature_valid(items):
    return ed25519_verify(items[3], cbor(items[:9]), items[9])


# ---------------------------------------------------------------- lotchain: Merkle roots


def merkle_root(ids):
    if not ids:
        return tagged("lotchain/merkle-empty/v1")
    level = [tagged("lotchain/merkle-leaf/v1", unhex(i)) for i in ids]
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), 2):
            pair = level[i : i + 2]
            nxt.append(tagged("lotchain/merkle-node/v1", *pair) if len(pair) == 2 else pair[0])
        level = nxt
    return level[0]


# ---------------------------------------------------------------- lotchain: block headers
# A header is an array of items in this order; the block hash is the tagged hash of its
# encoding. The fields are listed once, here: a new header field (a state root, say) is one
# more line in HEADER_FIELDS at its position, read from the block's JSON.

HEADER_FIELDS = [
    ("domain", lambda b: "lotchain/block/v1"),
    ("chainId", lambda b: b["chainId"]),
    ("height", lambda b: b["height"]),
    ("previousHash", lambda b: unhex(b["previousHash"])),
    ("timestamp", lambda b: b["timestamp"]),
    ("forger", lambda b: unhex(b["forger"])),
    ("txRoot", lambda b: unhex(b["txRoot"])),
    ("evidenceRoot", lambda b: unhex(b["evidenceRoot"])),
    ("stateRoot", lambda b: unhex(b["stateRoot"])),
]
SEAL_FIELDS = {
    # PoS: the slot and the forger's 80-byte VRF proof (the genesis block: its 32-byte seed)
    "pos": [
        ("kind", lambda b: "pos"),
        ("slot", lambda b: b["slot"]),
        ("vrfProof", lambda b: unhex(b["vrfProof"] if b["height"] > 0 else b["randomness"])),
    ],
    # PoW: the target as 32 bytes, then the nonce as the last 8 bytes of the encoding
    "pow": [
        ("kind", lambda b: "pow"),
        ("target", lambda b: unhex(b["target"])),
        ("nonce", lambda b: int(b["nonce"]).to_bytes(8, "big")),
    ],
}
BLOCK_SIGNATURE_DOMAIN = b"lotchain/block-signature/v1"


def header_items(b):
    kind = "pos" if "slot" in b else "pow"
    return [get(b) for _, get in HEADER_FIELDS + SEAL_FIELDS[kind]]


def header_encoding(b):
    return cbor(header_items(b))


def block_hash(b):
    return tagged("lotchain/block/v1", header_encoding(b))


def block_encoding(b):
    return cbor(
        [
            header_items(b),
            unhex(b["signature"]),
            [tx_encoded(t) for t in b["transactions"]],
            [],  # slashing evidence: none in these vectors
        ]
    )


# ---------------------------------------------------------------- lotchain: the lottery


def slot_seed(epoch_nonce, slot):
    return tagged("lotchain/slot-seed/v1", epoch_nonce, u64be(slot))


def draw_lot(seed, total):
    """A lot in [0, total): 256-bit words tagged(seed, u32be(n)), rejecting the biased top."""
    limit = (1 << 256) - (1 << 256) % total
    n = 0
    while True:
        word = int.from_bytes(tagged("lotchain/lottery-draw/v1", seed, u32be(n)), "big")
        if word < limit:
            return word % total
        n += 1


def winner(validators, seed):
    """validators: (address, stake); lots numbered in address order."""
    ordered = sorted((v for v in validators if v[1] > 0), key=lambda v: v[0])
    total = sum(stake for _, stake in ordered)
    lot = draw_lot(seed, total)
    running = 0
    for address, stake in ordered:
        running += stake
        if lot < running:
            return address, lot
    raise AssertionError("unreachable")


def vrf_input(chain_id, slot, epoch_nonce):
    return cbor(["lotchain/pos-vrf/v1", chain_id, slot, epoch_nonce])


def accumulate(acc, output):
    return tagged("lotchain/vrf-accumulator/v1", acc, output)


def next_epoch_nonce(nonce, acc, epoch):
    return tagged("lotchain/epoch-nonce/v1", nonce, acc, u64be(epoch))


# ---------------------------------------------------------------- checks


class Checker:
    def __init__(self):
        self.failures = []
        self.counts = {}

    def eq(self, what, got, want):
        self.counts[what.split(":")[0]] = self.counts.get(what.split(":")[0], 0) + 1
        if got != want:
            self.failures.append(f"{what}: got {got!r}, want {want!r}")

    def true(self, what, cond):
        self.eq(what, bool(cond), True)


def check_published(c):
    for v in load("ed25519-rfc8032.json")["vectors"]:
        seed, msg = unhex(v["secretKey"]), unhex(v["message"])
        c.eq(f"rfc8032: {v['name']} public key", ed25519_public(seed).hex(), v["publicKey"])
        c.eq(f"rfc8032: {v['name']} signature", ed25519_sign(seed, msg).hex(), v["signature"])
        c.true(f"rfc8032: {v['name']} verifies", ed25519_verify(unhex(v["publicKey"]), msg, unhex(v["signature"])))
        c.true(f"rfc8032: {v['name']} other message fails", not ed25519_verify(unhex(v["publicKey"]), msg + b"x", unhex(v["signature"])))
    for v in load("vrf-rfc9381.json")["vectors"]:
        seed, alpha, name = unhex(v["sk"]), unhex(v["alpha"]), v["name"]
        c.eq(f"rfc9381: {name} pk", ed25519_public(seed).hex(), v["pk"])
        x, _ = secret_expand(seed)
        c.eq(f"rfc9381: {name} x", x.to_bytes(32, "little").hex(), v["x"])
        h, ctr = vrf_encode_to_curve(unhex(v["pk"]), alpha)
        c.eq(f"rfc9381: {name} H", point_compress(h).hex(), v["h"])
        c.eq(f"rfc9381: {name} ctr", ctr, v["ctr"])
        c.eq(f"rfc9381: {name} k", sha512(sha512(seed)[32:], point_compress(h)).hex(), v["k"])
        k = int.from_bytes(unhex(v["k"]), "little") % Q
        c.eq(f"rfc9381: {name} U", point_compress(point_mul(k, BASE)).hex(), v["u"])
        c.eq(f"rfc9381: {name} V", point_compress(point_mul(k, h)).hex(), v["v"])
        c.eq(f"rfc9381: {name} pi", vrf_prove(seed, alpha).hex(), v["pi"])
        c.eq(f"rfc9381: {name} beta", (vrf_verify(unhex(v["pk"]), alpha, unhex(v["pi"])) or b"").hex(), v["beta"])
        c.true(f"rfc9381: {name} other alpha fails", vrf_verify(unhex(v["pk"]), alpha + b"x", unhex(v["pi"])) is None)
    bip = load("bech32m-bip350.json")
    for s in bip["valid"]:
        c.true(f"bip350: valid {s}", bech32m_decode(s) is not None)
    for v in bip["invalid"]:
        c.true(f"bip350: invalid {v['string']!r} ({v['reason']})", bech32m_decode(v["string"]) is None)


def check_encoding(c):
    vec = load("encoding.json")
    seeds = [unhex(k["seed"]) for k in vec["keys"]]
    for k, seed in zip(vec["keys"], seeds):
        c.eq("keys: public key", ed25519_public(seed).hex(), k["publicKey"])
        c.eq("keys: address", address_of_key(unhex(k["publicKey"])), k["address"])
    for t in vec["transactions"]:
        j, inp = t["json"], t["input"]
        for field in ("chainId", "type", "receiver", "amount", "fee", "nonce", "timestamp"):
            c.eq(f"transactions: json {field}", j[field], inp[field])
        c.eq("transactions: sender", j["senderPublicKey"], vec["keys"][inp["key"]]["publicKey"])
        signing = cbor(tx_items(j))
        c.eq("transactions: signing bytes", signing.hex(), t["signingBytes"])
        c.eq("transactions: signature", ed25519_sign(seeds[inp["key"]], signing).hex(), j["signature"])
        c.eq("transactions: encoding", tx_encoded(j).hex(), t["encoded"])
        c.eq("transactions: id", tx_id(unhex(t["encoded"])), j["id"])
    for m in vec["merkle"]:
        c.eq("merkle: root", merkle_root(m["ids"]).hex(), m["root"])
    for v in vec["blocks"]:
        b = dict(v["json"], chainId=(v["json"]["transactions"] or [{"chainId": "lotchain-vectors"}])[0]["chainId"])
        c.eq("blocks: header encoding", header_encoding(b).hex(), v["header"])
        c.eq("blocks: hash", block_hash(b).hex(), b["hash"])
        c.eq("blocks: txRoot", merkle_root([t["id"] for t in b["transactions"]]).hex(), b["txRoot"])
        c.eq("blocks: evidenceRoot", merkle_root([]).hex(), b["evidenceRoot"])
        c.eq("blocks: forger", b["forger"], ed25519_public(unhex(v["forgerSeed"])).hex())
        c.eq("blocks: signature", ed25519_sign(unhex(v["forgerSeed"]), BLOCK_SIGNATURE_DOMAIN + block_hash(b)).hex(), b["signature"])
        c.eq("blocks: encoding", block_encoding(b).hex(), v["encoded"])
        for t in b["transactions"]:
            c.eq("blocks: transaction id", tx_id(tx_encoded(t)), t["id"])


def check_invalid(c):
    vec = load("invalid.json")
    for v in vec["transactions"]:
        try:
            decode_tx_strict(unhex(v["hex"]))
            c.failures.append(f"invalid: accepted {v['reason']}")
        except Refused as e:
            c.eq(f"invalid: code of '{v['reason']}'", e.args[0], v["code"])
    for v in vec["badSignature"]:
        items = decode_tx_strict(unhex(v["hex"]))
        c.true(f"invalid: signature of '{v['reason']}' refused", not tx_signature_valid(items))
    for v in vec["addresses"]:
        c.true(f"invalid: address '{v['reason']}' refused", parse_address(v["text"]) is None)


def check_lottery(c):
    vec = load("lottery.json")
    for v in vec["slotSeeds"]:
        c.eq("slot seed", slot_seed(unhex(v["epochNonce"]), v["slot"]).hex(), v["seed"])
    for lottery in vec["lotteries"]:
        validators = [(x["address"], int(x["stake"])) for x in lottery["validators"]]
        for d in lottery["draws"]:
            address, lot = winner(validators, unhex(d["seed"]))
            c.eq(f"lottery: lot ({lottery['name']})", str(lot), d["lot"])
            c.eq(f"lottery: winner ({lottery['name']})", address, d["winner"])
    for v in vec["randomness"]:
        seed, nonce = unhex(v["forgerKeySeed"]), unhex(v["epochNonce"])
        alpha = vrf_input(v["chainId"], v["slot"], nonce)
        c.eq("randomness: public key", ed25519_public(seed).hex(), v["forgerPublicKey"])
        c.eq("randomness: vrf input", alpha.hex(), v["vrfInput"])
        c.eq("randomness: proof", vrf_prove(seed, alpha).hex(), v["randomness"])
        c.eq("randomness: output", (vrf_verify(unhex(v["forgerPublicKey"]), alpha, unhex(v["randomness"])) or b"").hex(), v["output"])
        c.true("randomness: next slot fails", vrf_verify(unhex(v["forgerPublicKey"]), vrf_input(v["chainId"], v["slot"] + 1, nonce), unhex(v["randomness"])) is None)
    ep = vec["epochs"]
    for v in ep["accumulate"]:
        c.eq("epochs: accumulate", accumulate(unhex(v["accumulator"]), unhex(v["output"])).hex(), v["result"])
    for v in ep["nextNonce"]:
        c.eq("epochs: next nonce", next_epoch_nonce(unhex(v["nonce"]), unhex(v["accumulator"]), v["epoch"]).hex(), v["result"])
    check_epoch_chain(c, ep["chain"])


def check_epoch_chain(c, chain, epoch_slots=8):
    """Replays the chain's epoch links (docs/consensus.md) and checks each block's lottery win."""
    keys = {}
    validators = []
    for v in chain["validators"]:
        pub = ed25519_public(unhex(v["keySeed"]))
        keys[pub.hex()] = unhex(v["keySeed"])
        validators.append((address_of_key(pub), int(v["stake"])))
    genesis = unhex(chain["genesisHash"])  # the genesis block's hash is taken as given
    first = chain["blocks"][0]
    # the genesis link: nonce_0 is the genesis randomness (epoch 0 carries it unchanged)
    link = {"nonce": unhex(first["nonce"]), "acc": bytes(32), "snapshot": genesis, "last": genesis}
    parent_hash, parent_slot, height = genesis, 0, 0
    for b in chain["blocks"]:
        slot = b["slot"]
        epoch = slot // epoch_slots
        if epoch == parent_slot // epoch_slots:
            ctx = dict(link)
        else:
            ctx = {
                "nonce": next_epoch_nonce(link["nonce"], link["acc"], epoch),
                "acc": bytes(32),
                "snapshot": link["last"],
                "last": parent_hash,
            }
        forger = unhex(b["forgerPublicKey"])
        alpha = vrf_input(chain["chainId"], slot, ctx["nonce"])
        output = vrf_verify(forger, alpha, unhex(b["vrfProof"]))
        c.true(f"chain: slot {slot} proof verifies", output is not None)
        c.eq(f"chain: slot {slot} proof", vrf_prove(keys[b["forgerPublicKey"]], alpha).hex(), b["vrfProof"])
        c.eq(f"chain: slot {slot} winner", winner(validators, slot_seed(ctx["nonce"], slot))[0], address_of_key(forger))
        link = dict(ctx, acc=accumulate(ctx["acc"], output or b""))
        for field, key in (("nonce", "nonce"), ("accumulator", "acc"), ("snapshot", "snapshot"), ("lastBeforeEpoch", "last")):
            c.eq(f"chain: slot {slot} {field}", link[key].hex(), b[field])
        height += 1
        header = {
            "chainId": chain["chainId"],
            "height": height,
            "previousHash": parent_hash.hex(),
            "timestamp": chain["genesisTimestamp"] + slot * chain["slotMs"],
            "forger": b["forgerPublicKey"],
            "txRoot": merkle_root([]).hex(),
            "evidenceRoot": merkle_root([]).hex(),
            # The engine's vectors hold no state: their blocks carry a zero state root.
            "stateRoot": "00" * 32,
            "slot": slot,
            "vrfProof": b["vrfProof"],
        }
        c.eq(f"chain: slot {slot} block hash", block_hash(header).hex(), b["hash"])
        parent_hash, parent_slot = unhex(b["hash"]), slot


def check_pow(c):
    vec = load("pow.json")
    for v in vec["works"]:
        c.eq("pow: work", str((1 << 256) // (int(v["target"], 16) + 1)), v["work"])
    n = 8
    for v in vec["retarget"]:
        t = v["targetBlockMs"]
        initial = int(v["initialTarget"], 16)
        parent = int(v["parentTarget"], 16)
        if v["parentHeight"] < 2:
            want = initial
        else:
            solve = min(max(v["solveTimeMs"], 0), (n * (2 - 1) + 1) * t)
            want = min(max(parent * (n * t + solve - t) // (n * t), 1), initial)
        c.eq("pow: retarget", want, int(v["nextTarget"], 16))
    for v in vec["mined"]:
        h = dict(v["header"], nonce=v["firstNonce"])
        target = int(h["target"], 16)
        c.eq("pow: hash input", (b"lotchain/block/v1\x00" + header_encoding(h)).hex(), v["hashInput"])
        c.eq("pow: hash", block_hash(h).hex(), v["hash"])
        c.true("pow: hash at most the target", int(v["hash"], 16) <= target)
        first = next(i for i in range(1 << 20) if int.from_bytes(block_hash(dict(h, nonce=str(i))), "big") <= target)
        c.eq("pow: first nonce", str(first), v["firstNonce"])


def main():
    c = Checker()
    for check in (check_published, check_encoding, check_invalid, check_lottery, check_pow):
        check(c)
    checked = sum(c.counts.values())
    if c.failures:
        print(f"check_vectors.py: {len(c.failures)} of {checked} checks FAILED", file=sys.stderr)
        for f in c.failures[:40]:
            print(f"  {f}", file=sys.stderr)
        return 1
    print(f"check_vectors.py: all {checked} checks agree ({len(c.counts)} kinds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
