#!/usr/bin/python3
"""ML-DSA-44: postern's implementation (common/mldsa44.cpp, through the mldsa44_tool helper)
against an independent one, @noble/post-quantum (vendored in regress/third_party/noble, run by
node, never linked), for random seeds, messages and contexts, in both directions:

  keys from the same seed are equal (FIPS 204 Algorithm 6);
  with the same rnd, both sign to the same bytes (hedged signing, Algorithms 2 and 7);
  postern's hedged signatures verify in noble, noble's verify in postern;
  a flipped bit in the signature, the message or the context fails in both, as does a malformed
  hint (Algorithm 21) and a context over 255 bytes.

Usage: mldsa44_noble_crosscheck.py TOOL. Exits 77 (skipped) when node is missing or too old
for the vendored modules.
"""
import os
import secrets
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "regress",
                                "third_party", "noble"))
from line_tool import check, finish, start_pair  # noqa: E402

ROUNDS = 20
SIG_SIZE = 2420
HINT_START = SIG_SIZE - 84  # omega + k bytes of HintBitPack at the end


def flip_bit(hex_bytes, byte_range):
    data = bytearray.fromhex(hex_bytes)
    data[secrets.choice(byte_range)] ^= 1 << secrets.randbelow(8)
    return data.hex()


def altered(hex_bytes):
    """A flipped bit, or for an empty field one byte where there was none."""
    return flip_bit(hex_bytes, range(len(hex_bytes) // 2)) if hex_bytes else "00"


def both_verify(ours, noble, pk, msg, ctx, sig):
    return ours.ask("verify", pk, msg, ctx, sig), noble.ask("verify", pk, msg, ctx, sig)


def main():
    pair = start_pair(sys.argv[1], "mldsa44.mjs", "keygen", "00" * 32)
    if pair is None:
        return 77
    ours, noble = pair
    for round_ in range(ROUNDS):
        where = f"round {round_}"
        seed = secrets.token_hex(32)
        pk, sk = noble.ask("keygen", seed)
        check(ours.ask("keygen", seed) == [pk, sk], f"{where}: keys from one seed differ")
        msg = secrets.token_hex(secrets.randbelow(300))
        ctx = secrets.token_hex(secrets.choice([0, 1, secrets.randbelow(256), 255]))
        rnd = secrets.token_hex(32)
        # Hedged signing with a given rnd: the same bytes.
        sig = ours.ask("sign_rnd", sk, msg, ctx, rnd)
        check(noble.ask("sign", sk, msg, ctx, rnd) == sig, f"{where}: signatures with one rnd differ")
        # Fresh randomness on each side, verified by the other.
        our_sig = ours.ask("sign", sk, msg, ctx)[0]
        check(noble.ask("verify", pk, msg, ctx, our_sig) == ["true"], f"{where}: noble refused ours")
        noble_sig = noble.ask("sign", sk, msg, ctx, "-")[0]
        check(ours.ask("verify", pk, msg, ctx, noble_sig) == ["true"], f"{where}: we refused noble's")
        # Tampering: both refuse.
        for what, args in [
            ("signature", (pk, msg, ctx, flip_bit(noble_sig, range(SIG_SIZE)))),
            ("hint", (pk, msg, ctx, flip_bit(our_sig, range(HINT_START, SIG_SIZE)))),
            ("message", (pk, altered(msg), ctx, our_sig)),
            ("context", (pk, msg, altered(ctx), our_sig)),
        ]:
            check(both_verify(ours, noble, *args) == (["false"], ["false"]),
                  f"{where}: a tampered {what} was accepted")
    # Algorithm 2 line 1: a context of 256 bytes is refused by both signers and verifiers.
    long_ctx = "63" * 256
    check(ours.ask("sign", sk, "00", long_ctx)[0] == "error", "we signed with a 256-byte context")
    check(noble.ask("sign", sk, "00", long_ctx, "-")[0] == "error",
          "noble signed with a 256-byte context")
    check(ours.ask("verify", pk, "00", long_ctx, our_sig) == ["false"],
          "we verified with a 256-byte context")
    return finish(ours, noble, ROUNDS)


if __name__ == "__main__":
    sys.exit(main())
