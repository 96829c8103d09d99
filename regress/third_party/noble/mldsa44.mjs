// Line-oriented front end to @noble/post-quantum's ML-DSA-44 for
// common/mldsa44_noble_crosscheck.py. One request per line, hex arguments ("-" for an empty
// one), one answer line each:
//   keygen SEED32             -> PK SK    (FIPS 204 ML-DSA.KeyGen_internal)
//   sign SK MSG CTX RND       -> SIG      (pure ML-DSA.Sign with context; rnd as extraEntropy,
//                                          "-" for fresh randomness)
//   verify PK MSG CTX SIG     -> true | false
// A request noble refuses answers "error MESSAGE".
import { createInterface } from 'node:readline';
import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';

const fromHex = (s) => Uint8Array.from(Buffer.from(s === '-' ? '' : s, 'hex'));
const toHex = (b) => Buffer.from(b).toString('hex');

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [op, a, b, c, d] = line.trim().split(' ');
  try {
    if (op === 'keygen') {
      const { publicKey, secretKey } = ml_dsa44.keygen(fromHex(a));
      console.log(`${toHex(publicKey)} ${toHex(secretKey)}`);
    } else if (op === 'sign') {
      const opts = { context: fromHex(c) };
      if (d !== '-') opts.extraEntropy = fromHex(d);
      console.log(toHex(ml_dsa44.sign(fromHex(b), fromHex(a), opts)));
    } else if (op === 'verify') {
      const ok = ml_dsa44.verify(fromHex(d), fromHex(b), fromHex(a), { context: fromHex(c) });
      console.log(ok ? 'true' : 'false');
    } else {
      console.log(`error unknown request ${op}`);
    }
  } catch (e) {
    console.log(`error ${String(e.message).replace(/\n/g, ' ')}`);
  }
}
