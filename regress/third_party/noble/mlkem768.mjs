// Line-oriented front end to @noble/post-quantum's ML-KEM-768 for
// net/mlkem768_noble_crosscheck.py. One request per line, hex arguments, one answer line each:
//   keygen SEED64        -> EK DK      (SEED64 = d || z, FIPS 203 ML-KEM.KeyGen_internal)
//   encaps EK M          -> C K        (ML-KEM.Encaps_internal with message m)
//   decaps DK C          -> K
// A request noble refuses answers "error MESSAGE".
import { createInterface } from 'node:readline';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';

const fromHex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b) => Buffer.from(b).toString('hex');

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [op, a, b] = line.trim().split(' ');
  try {
    if (op === 'keygen') {
      const { publicKey, secretKey } = ml_kem768.keygen(fromHex(a));
      console.log(`${toHex(publicKey)} ${toHex(secretKey)}`);
    } else if (op === 'encaps') {
      const { cipherText, sharedSecret } = ml_kem768.encapsulate(fromHex(a), fromHex(b));
      console.log(`${toHex(cipherText)} ${toHex(sharedSecret)}`);
    } else if (op === 'decaps') {
      console.log(toHex(ml_kem768.decapsulate(fromHex(b), fromHex(a))));
    } else {
      console.log(`error unknown request ${op}`);
    }
  } catch (e) {
    console.log(`error ${String(e.message).replace(/\n/g, ' ')}`);
  }
}
