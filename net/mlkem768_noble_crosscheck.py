#!/usr/bin/python3
"""ML-KEM-768: postern's implementation (net/mlkem768.cpp, through the mlkem768_tool helper)
against an independent one, @noble/post-quantum (vendored in regress/third_party/noble, run by
node, never linked), for random seeds, in both directions:

  noble keygen/encaps -> our decaps gives noble's key, and our keygen/encaps give noble's bytes;
  our keygen/encaps   -> noble's decaps gives our key;
  a tampered ciphertext -> both give the same implicit-rejection key (FIPS 203 Algorithm 18);
  an encapsulation key failing the modulus check (§7.2) -> both refuse it.

Usage: mlkem768_noble_crosscheck.py TOOL. Exits 77 (skipped) when node is missing or too old
for the vendored modules.
"""
import os
import secrets
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "regress",
                                "third_party", "noble"))
from line_tool import check, finish, start_pair  # noqa: E402

ROUNDS = 25


def main():
    pair = start_pair(sys.argv[1], "mlkem768.mjs", "keygen", "00" * 64)
    if pair is None:
        return 77
    ours, noble = pair
    for round_ in range(ROUNDS):
        seed, m, m2 = secrets.token_hex(64), secrets.token_hex(32), secrets.token_hex(32)
        # noble -> us
        n_ek, n_dk = noble.ask("keygen", seed)
        n_c, n_k = noble.ask("encaps", n_ek, m)
        check(ours.ask("decaps", n_dk, n_c) == [n_k], f"round {round_}: our decaps of noble's")
        check(ours.ask("keygen", seed) == [n_ek, n_dk], f"round {round_}: keygen differs")
        check(ours.ask("encaps", n_ek, m) == [n_c, n_k], f"round {round_}: encaps differs")
        # us -> noble, with a fresh seed and message
        seed = secrets.token_hex(64)
        o_ek, o_dk = ours.ask("keygen", seed)
        o_c, o_k = ours.ask("encaps", o_ek, m2)
        check(noble.ask("decaps", o_dk, o_c) == [o_k], f"round {round_}: noble's decaps of ours")
        # implicit rejection: a flipped bit somewhere in the ciphertext
        pos = secrets.randbelow(len(o_c) // 2)
        flipped = bytearray.fromhex(o_c)
        flipped[pos] ^= 1 << secrets.randbelow(8)
        bad_c = flipped.hex()
        ours_k, noble_k = ours.ask("decaps", o_dk, bad_c), noble.ask("decaps", o_dk, bad_c)
        check(ours_k == noble_k and ours_k != [o_k], f"round {round_}: rejection keys differ")
    # §7.2: the first coefficient set to 4095 >= q.
    bad_ek = bytearray.fromhex(o_ek)
    bad_ek[0] = 0xff
    bad_ek[1] |= 0x0f
    check(ours.ask("encaps", bad_ek.hex(), m)[0] == "error", "we accepted a non-canonical key")
    check(noble.ask("encaps", bad_ek.hex(), m)[0] == "error", "noble accepted a non-canonical key")
    return finish(ours, noble, ROUNDS)


if __name__ == "__main__":
    sys.exit(main())
