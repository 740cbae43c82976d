// PDQ, the perceptual hash of Meta's ThreatExchange, computed in the browser from a
// picture's luminance, so that a survivor's images never leave their device.
//
// A port of Reclaim's plain reference (reclaim/hashing/pdq_reference.py), step by step:
// four box-filter passes with running sums in float32 (rows, columns, rows, columns),
// 64 x 64 samples, the quality score, a 16 x 16 DCT and the median threshold. Every
// float32 operation of the reference is rounded to float32 here too (Math.fround), so
// the samples equal the reference's; the DCT runs in float64, as Reclaim's fast path.
// tests/web/test_pdq_js.py holds the hashes equal to Python's.

const SAMPLES = 64;
const DCT_SIDE = 16;
const MIN_HASHABLE_SIDE = 5;
const PASSES = 2;
const f32 = Math.fround;

/** Box-filter width the reference uses to blur `length` pixels towards 64 samples. */
export function jaroszWindow(length) {
  return Math.floor((length + 2 * SAMPLES - 1) / (2 * SAMPLES));
}

/** The 64 pixel positions sampled after blurring (centres, not corners). */
export function samplePositions(length) {
  const positions = new Int32Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) positions[i] = Math.trunc(((i + 0.5) * length) / SAMPLES);
  return positions;
}

// The reference's 1-D box filter along each row, in its four phases (the window grows,
// slides, shrinks), every sum rounded to float32 as the reference's are.
function boxRows(input, output, width, height, window) {
  const half = Math.floor((window + 2) / 2);
  for (let row = 0; row < height; row++) {
    let right = row * width;
    let left = right;
    let written = right;
    let total = 0;
    let n = 0;
    for (let k = 0; k < half - 1; k++) {
      total = f32(total + input[right++]);
      n += 1;
    }
    for (let k = 0; k < window - half + 1; k++) {
      total = f32(total + input[right++]);
      n += 1;
      output[written++] = f32(total / n);
    }
    for (let k = 0; k < width - window; k++) {
      total = f32(total + input[right++]);
      total = f32(total - input[left++]);
      output[written++] = f32(total / n);
    }
    for (let k = 0; k < half - 1; k++) {
      total = f32(total - input[left++]);
      n -= 1;
      output[written++] = f32(total / n);
    }
  }
}

// The same filter down the columns (`columns`, or all when null), all of them at once, a
// row at a time, so memory is read in order: each column's sum takes the very float32
// operations the reference's would, in the same order (a Float32Array rounds each stored
// sum as Math.fround does). Columns left out keep what `output` held.
function boxColumns(input, output, width, height, window, columns) {
  const half = Math.floor((window + 2) / 2);
  const count = columns === null ? width : columns.length;
  const totals = new Float32Array(count);
  let n = 0;
  let right = 0;
  let left = 0;
  let written = 0;
  const add = (row, sign) => {
    const base = row * width;
    if (columns === null) {
      if (sign > 0) for (let c = 0; c < count; c++) totals[c] += input[base + c];
      else for (let c = 0; c < count; c++) totals[c] -= input[base + c];
    } else if (sign > 0) {
      for (let c = 0; c < count; c++) totals[c] += input[base + columns[c]];
    } else {
      for (let c = 0; c < count; c++) totals[c] -= input[base + columns[c]];
    }
  };
  const emit = (row) => {
    const base = row * width;
    if (columns === null) for (let c = 0; c < count; c++) output[base + c] = totals[c] / n;
    else for (let c = 0; c < count; c++) output[base + columns[c]] = totals[c] / n;
  };
  for (let k = 0; k < half - 1; k++) {
    add(right++, 1);
    n += 1;
  }
  for (let k = 0; k < window - half + 1; k++) {
    add(right++, 1);
    n += 1;
    emit(written++);
  }
  for (let k = 0; k < height - window; k++) {
    add(right++, 1);
    add(left++, -1);
    emit(written++);
  }
  for (let k = 0; k < half - 1; k++) {
    add(left++, -1);
    n -= 1;
    emit(written++);
  }
}

/** The blurred 64 x 64 samples of a `width` x `height` luminance (row-major). The last
 * pass down the columns filters only the 64 columns that are sampled. */
export function pdqGrid(luma, width, height) {
  let buffer = Float32Array.from(luma);
  let spare = new Float32Array(buffer.length);
  const alongRows = jaroszWindow(width);
  const alongColumns = jaroszWindow(height);
  const rows = samplePositions(height);
  const columns = samplePositions(width);
  for (let pass = 0; pass < PASSES; pass++) {
    boxRows(buffer, spare, width, height, alongRows);
    [buffer, spare] = [spare, buffer];
    boxColumns(buffer, spare, width, height, alongColumns, pass === PASSES - 1 ? columns : null);
    [buffer, spare] = [spare, buffer];
  }
  const grid = new Float32Array(SAMPLES * SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    for (let j = 0; j < SAMPLES; j++) grid[i * SAMPLES + j] = buffer[rows[i] * width + columns[j]];
  }
  return grid;
}

/** The reference's quality score (0-100): summed gradients of the samples. */
export function qualityOf(grid) {
  let sum = 0;
  const step = (a, b) => Math.abs(Math.trunc(f32(f32(f32(a - b) * 100) / 255)));
  for (let i = 0; i < SAMPLES - 1; i++) {
    for (let j = 0; j < SAMPLES; j++) sum += step(grid[i * SAMPLES + j], grid[(i + 1) * SAMPLES + j]);
  }
  for (let i = 0; i < SAMPLES; i++) {
    for (let j = 0; j < SAMPLES - 1; j++) sum += step(grid[i * SAMPLES + j], grid[i * SAMPLES + j + 1]);
  }
  return Math.min(100, Math.floor(sum / 90));
}

let basis = null;

// The 16 x 64 DCT-II basis PDQ uses, skipping the constant row.
function dctBasis() {
  if (basis === null) {
    basis = new Float64Array(DCT_SIDE * SAMPLES);
    const scale = Math.sqrt(2 / SAMPLES);
    for (let k = 0; k < DCT_SIDE; k++) {
      for (let j = 0; j < SAMPLES; j++) {
        basis[k * SAMPLES + j] = scale * Math.cos((Math.PI / 2 / SAMPLES) * (k + 1) * (2 * j + 1));
      }
    }
  }
  return basis;
}

/** The 16 x 16 DCT block of the samples, row-major. */
export function dct16(grid) {
  const b = dctBasis();
  const half = new Float64Array(DCT_SIDE * SAMPLES); // basis @ grid
  for (let k = 0; k < DCT_SIDE; k++) {
    for (let j = 0; j < SAMPLES; j++) {
      let total = 0;
      for (let m = 0; m < SAMPLES; m++) total += b[k * SAMPLES + m] * grid[m * SAMPLES + j];
      half[k * SAMPLES + j] = total;
    }
  }
  const block = new Float64Array(DCT_SIDE * DCT_SIDE); // (basis @ grid) @ basis.T
  for (let k = 0; k < DCT_SIDE; k++) {
    for (let l = 0; l < DCT_SIDE; l++) {
      let total = 0;
      for (let m = 0; m < SAMPLES; m++) total += half[k * SAMPLES + m] * b[l * SAMPLES + m];
      block[k * DCT_SIDE + l] = total;
    }
  }
  return block;
}

/** Hash bits from the DCT block as the reference's hex string: a bit is set where the
 * coefficient exceeds the median (the 128th smallest); bit 16 i + j is bit j of 16-bit
 * word i, and the string lists words 15 down to 0. */
export function hexFromDct(block) {
  const median = Float64Array.from(block).sort()[127];
  let hex = "";
  for (let byte = 0; byte < 32; byte++) {
    let value = 0;
    for (let bit = 0; bit < 8; bit++) {
      const k = byte * 8 + bit;
      const i = 15 - (k >> 4);
      const j = 15 - (k & 15);
      value = (value << 1) | (block[i * DCT_SIDE + j] > median ? 1 : 0);
    }
    hex += value.toString(16).padStart(2, "0");
  }
  return hex;
}

/** The PDQ hash ({hex, quality}) of a `width` x `height` luminance, row-major, 0-255. */
export function pdqFromLuma(luma, width, height) {
  if (luma.length !== width * height) {
    throw new RangeError(`luma holds ${luma.length} values, not ${width} x ${height}`);
  }
  if (Math.min(width, height) < MIN_HASHABLE_SIDE) return { hex: "0".repeat(64), quality: 0 };
  const grid = pdqGrid(luma, width, height);
  return { hex: hexFromDct(dct16(grid)), quality: qualityOf(grid) };
}

/** 8-bit luminance from RGBA pixels (a canvas's ImageData.data) with PDQ's weights
 * (0.299, 0.587, 0.114), rounded as Reclaim's decoder (Pillow's "L") rounds them. */
export function lumaFromRgba(rgba, width, height) {
  if (rgba.length !== 4 * width * height) {
    throw new RangeError(`rgba holds ${rgba.length} values, not 4 x ${width} x ${height}`);
  }
  const luma = new Uint8Array(width * height);
  for (let p = 0, q = 0; p < luma.length; p++, q += 4) {
    luma[p] = (rgba[q] * 19595 + rgba[q + 1] * 38470 + rgba[q + 2] * 7471 + 0x8000) >>> 16;
  }
  return luma;
}
