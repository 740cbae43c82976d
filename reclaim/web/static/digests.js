// MD5 and SHA-256 of a file's bytes, computed in the browser a piece at a time (a video
// is read in slices, never held whole): the exact hashes partners share (StopNCII shares
// MD5 for videos). SubtleCrypto digests only whole buffers and knows no MD5, so both are
// written out here, from RFC 1321 and FIPS 180-4. tests/web/test_digests_js.py holds
// them equal to Python's hashlib.

const hex = (words, littleEndian) =>
  Array.from(words, (word) => {
    const bytes = [word >>> 24, (word >>> 16) & 255, (word >>> 8) & 255, word & 255];
    return (littleEndian ? bytes.reverse() : bytes).map((b) => b.toString(16).padStart(2, "0")).join("");
  }).join("");

// The Merkle-Damgard frame both share: 64-byte blocks, then padding with the message's
// length in bits (little-endian for MD5, big-endian for SHA-256). Whole blocks are
// compressed where they lie in the input; only a block split between two updates is
// gathered in `block` first. compress(bytes, offset) works on 32-bit words held in an
// Int32Array, with no allocation per block: several times the speed of the plain
// version (benchmarks/portal.py), which counts for a video of several hundred megabytes.
class BlockHash {
  constructor(littleEndian, state) {
    this.littleEndian = littleEndian;
    this.state = Int32Array.from(state);
    this.block = new Uint8Array(64);
    this.filled = 0;
    this.length = 0; // bytes, below 2^53
    this.done = false;
  }

  update(bytes) {
    if (this.done) throw new Error("digest already taken");
    // The bytes of any view (a DataView, an Int16Array...) or buffer, not its elements.
    const data = ArrayBuffer.isView(bytes)
      ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      : new Uint8Array(bytes);
    this.length += data.length;
    let offset = 0;
    if (this.filled > 0) {
      const take = Math.min(64 - this.filled, data.length);
      this.block.set(data.subarray(0, take), this.filled);
      this.filled += take;
      offset = take;
      if (this.filled < 64) return this;
      this.compress(this.block, 0);
      this.filled = 0;
    }
    for (; offset + 64 <= data.length; offset += 64) this.compress(data, offset);
    this.block.set(data.subarray(offset), 0);
    this.filled = data.length - offset;
    return this;
  }

  hexdigest() {
    const bits = this.length * 8;
    const tail = new Uint8Array((this.filled < 56 ? 64 : 128) - this.filled);
    tail[0] = 0x80;
    const view = new DataView(tail.buffer);
    const low = bits >>> 0;
    const high = Math.floor(bits / 2 ** 32);
    if (this.littleEndian) {
      view.setUint32(tail.length - 8, low, true);
      view.setUint32(tail.length - 4, high, true);
    } else {
      view.setUint32(tail.length - 8, high, false);
      view.setUint32(tail.length - 4, low, false);
    }
    const length = this.length;
    this.update(tail);
    this.length = length;
    this.done = true;
    return hex(Uint32Array.from(this.state, (word) => word >>> 0), this.littleEndian);
  }
}

const MD5_SHIFTS = Int32Array.of(7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21);
const MD5_K = Int32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32));
// Which message word each of the 64 steps adds.
const MD5_WORD = Int32Array.from({ length: 64 }, (_, i) =>
  [i, (5 * i + 1) % 16, (3 * i + 5) % 16, (7 * i) % 16][i >> 4],
);

/** MD5, fed with update(bytes) as often as needed, then hexdigest(). */
export class Md5 extends BlockHash {
  constructor() {
    super(true, [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
    this.m = new Int32Array(16);
  }

  compress(bytes, offset) {
    const m = this.m;
    for (let i = 0, p = offset; i < 16; i++, p += 4) {
      m[i] = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
    }
    const state = this.state;
    let a = state[0];
    let b = state[1];
    let c = state[2];
    let d = state[3];
    for (let i = 0; i < 64; i++) {
      const round = i >> 4;
      let f;
      if (round === 0) f = (b & c) | (~b & d);
      else if (round === 1) f = (d & b) | (~d & c);
      else if (round === 2) f = b ^ c ^ d;
      else f = c ^ (b | ~d);
      const shift = MD5_SHIFTS[(round << 2) | (i & 3)];
      const sum = (a + f + MD5_K[i] + m[MD5_WORD[i]]) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
    }
    state[0] = (state[0] + a) | 0;
    state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0;
    state[3] = (state[3] + d) | 0;
  }
}

const SHA256_K = Int32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
);
const rotate = (x, n) => (x >>> n) | (x << (32 - n));

/** SHA-256, fed with update(bytes) as often as needed, then hexdigest(). */
export class Sha256 extends BlockHash {
  constructor() {
    super(false, [
      0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]);
    this.w = new Int32Array(64);
  }

  compress(bytes, offset) {
    const w = this.w;
    for (let i = 0, p = offset; i < 16; i++, p += 4) {
      w[i] = (bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3];
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15];
      const y = w[i - 2];
      const s0 = rotate(x, 7) ^ rotate(x, 18) ^ (x >>> 3);
      const s1 = rotate(y, 17) ^ rotate(y, 19) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    const state = this.state;
    let a = state[0];
    let b = state[1];
    let c = state[2];
    let d = state[3];
    let e = state[4];
    let f = state[5];
    let g = state[6];
    let h = state[7];
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25)) + ((e & f) ^ (~e & g)) + SHA256_K[i] + w[i]) | 0;
      const t2 = ((rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    state[0] = (state[0] + a) | 0;
    state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0;
    state[3] = (state[3] + d) | 0;
    state[4] = (state[4] + e) | 0;
    state[5] = (state[5] + f) | 0;
    state[6] = (state[6] + g) | 0;
    state[7] = (state[7] + h) | 0;
  }
}

/** MD5 and SHA-256 of a File or Blob, read `slice` bytes at a time; `progress(done,
 * total)` is told after each slice. */
export async function fileDigests(file, progress = () => {}, slice = 4 << 20) {
  const md5 = new Md5();
  const sha256 = new Sha256();
  for (let offset = 0; offset < file.size; offset += slice) {
    const bytes = new Uint8Array(await file.slice(offset, offset + slice).arrayBuffer());
    md5.update(bytes);
    sha256.update(bytes);
    progress(Math.min(offset + slice, file.size), file.size);
  }
  return { md5: md5.hexdigest(), sha256: sha256.hexdigest() };
}
