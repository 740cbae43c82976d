// Reclaim's local features (the "keypoints" signal), registered in the browser from a
// picture's luminance, so that a survivor's images never leave their device.
//
// A port of the registration side of reclaim/hashing/keypoints.py (features_from_luma,
// then features_to_bytes), step by step along its plain references rather than its
// compiled kernels: the luminance scaled by Pillow's reduce and BOX resampling, in its
// fixed-point integer arithmetic, so every pyramid level equals Python's pixel for pixel;
// Harris responses and the Gaussian smoothing in float32, each operation rounded as
// numpy rounds it (Math.fround); peaks, the grid spread, the intensity-centroid angle
// (exact: sums of whole numbers) and the rotated-BRIEF comparisons as in Python. The
// compiled kernels round a little differently (fused multiply-adds), and the browser's
// atan2, cos and sin may differ from C's in the last bit, so a rare descriptor bit can
// differ; tests/web/test_keypoints_js.py holds the features to Python's and checks that
// Python's matcher finds edited copies by the features computed here.

// Each level is 1/1.3 the size of the one before: 1.3 ** level as Python computes it (C's
// pow, correctly rounded); V8's Math.pow differs in the last bit from the 7th power on,
// which could move a level's size.
const SCALES = [
  1.0, 1.3, 1.6900000000000002, 2.197, 2.8561000000000005, 3.7129300000000005,
  4.826809000000001, 6.274851700000002, 8.157307210000003, 10.604499373000003,
  13.785849184900005, 17.921603940370005, 23.29808512248101, 30.287510659225312,
  39.37376385699291, 51.18589301409078,
];
const PATCH_RADIUS = 15;
/** Corners closer than this to a level's edge have no whole turned patch. */
const EDGE = 22;
const HARRIS_K = Math.fround(0.04);
/** Corners are spread over a grid of this many cells a side (see spread). */
const GRID = 8;
const DESCRIPTOR_BYTES = 32;
const RECORD_BYTES = 6 + DESCRIPTOR_BYTES;
const HEADER_BYTES = 12;
const VERSION = 1;
const f32 = Math.fround;

/** What registration keeps (reclaim.hashing.keypoints): 256 corners at a 512-pixel base
 * over 7 levels, shared among levels by the square root of their area. */
export const REGISTERED_FEATURES = 256;
export const REGISTERED_BASE_SIDE = 512;
export const REGISTERED_LEVELS = 7;
/** Corners one transform must explain for a match: fewer registered features than this
 * could never match, so such a picture registers none. */
export const MIN_INLIERS = 12;

/** BRIEF's 256 point pairs (x1, y1, x2, y2) in the patch, as reclaim.hashing.keypoints
 * draws them once (PATTERN, from numpy's generator with a fixed seed): the table itself
 * is what counts, so it is data here. */
export const PATTERN = Int8Array.of(
  -10,-12,-3,11,3,1,-3,-1,2,1,-2,2,2,5,11,-13,-1,2,6,6,-3,7,-2,-4,5,-9,10,-8,5,-2,4,1,
  -6,6,-2,1,10,0,-5,-12,3,3,4,4,-2,-2,6,11,-4,8,-3,2,-4,-8,-7,-1,-3,-10,-6,-9,4,5,-5,-9,
  0,2,6,4,0,-6,6,1,-6,12,7,1,-1,4,-3,-6,-4,1,2,3,0,7,-3,7,-5,4,11,-4,-6,2,1,-1,
  -1,5,3,8,-10,3,11,1,1,0,1,1,0,-6,5,8,-7,-4,0,-1,-11,4,7,8,-1,-2,3,-1,3,7,5,4,
  3,0,-5,-2,1,-5,-11,8,-10,-3,3,2,9,-5,0,-6,-4,-7,0,6,-2,2,-8,-2,-1,8,-7,-9,-3,3,9,3,
  -3,-3,-1,-10,5,5,4,-1,0,-4,1,-2,-9,-1,-4,-7,-4,-1,8,8,12,9,-7,11,-5,0,4,-1,1,6,8,8,
  -8,-2,2,1,3,13,-4,-2,-1,3,-2,0,0,1,5,4,-3,3,-6,-4,4,3,-1,4,13,-5,8,8,0,0,-12,-5,
  1,-6,4,10,-1,3,3,3,1,4,2,-4,6,-12,8,10,8,0,0,3,2,-4,-4,3,3,-4,-2,-3,-7,-2,7,-5,
  -1,-4,5,4,8,6,-4,3,-8,-3,1,-3,-6,-7,2,4,-4,1,1,-4,-2,3,8,0,-4,-1,4,-2,-2,-8,-11,-3,
  -5,-7,-4,11,-2,7,4,-2,1,2,-4,7,-6,-11,1,6,-5,10,-10,1,-9,-12,7,2,-1,5,-2,1,-6,10,3,10,
  3,-11,-10,-7,-12,-5,0,-3,7,-1,3,8,7,3,5,-1,9,3,1,-6,-5,11,-6,-12,2,-7,-6,-9,8,-3,0,2,
  -7,1,-4,6,-5,11,0,4,13,2,-6,-12,-6,-2,-4,-5,6,2,-5,7,1,1,7,-1,6,3,4,-3,4,5,-9,2,
  3,4,6,3,3,-11,0,-7,9,-1,8,-3,10,1,7,-2,-6,-3,-5,-6,7,-3,0,3,-12,-5,-2,-3,-1,-1,-2,6,
  -12,-2,-2,-3,-8,6,4,5,7,-6,0,1,6,-11,7,3,-2,3,-8,-2,-8,2,7,-8,4,3,6,10,-2,-9,6,3,
  -4,-4,9,-1,2,-13,2,-1,4,6,13,1,1,4,2,-8,-8,-4,-3,7,3,-1,0,5,1,-8,-3,6,-1,3,0,7,
  4,-1,7,-1,-1,1,-4,2,-5,-10,4,-4,0,10,9,-1,-5,8,-2,10,3,11,-5,0,1,1,5,7,-1,7,9,-2,
  8,-7,3,3,-8,10,3,6,-2,-3,-4,-7,-1,2,-10,-5,2,1,-7,12,5,3,-7,1,3,5,0,-1,-13,4,-12,0,
  -7,-10,-7,-1,-1,-11,11,-5,-7,-2,-1,5,9,0,1,-1,-6,0,0,4,2,9,-10,9,-10,4,2,-2,-2,-2,1,2,
  -3,10,-1,7,-10,-1,-4,6,-1,-7,-3,-2,5,-7,-5,2,0,1,4,-4,-1,-2,3,10,-4,-3,-7,0,-3,-4,-10,-3,
  -1,-13,1,0,-8,-7,-2,-6,2,2,6,-6,8,-3,5,-2,0,-8,2,3,1,4,6,1,7,7,-10,7,-6,0,0,12,
  -2,6,5,4,-2,-9,12,-1,-5,-8,6,9,-1,-8,3,11,0,3,-2,2,0,1,-4,-4,5,-9,9,-8,-1,-2,-6,6,
  4,6,-6,2,-2,-4,1,-7,1,3,-5,1,0,-3,2,7,11,-11,-7,-1,4,1,0,-6,7,-1,13,-10,-5,3,5,-11,
  4,-2,6,2,6,-1,3,4,11,7,-4,-5,4,7,5,10,6,-4,1,5,-3,9,3,-1,1,9,-1,11,-2,3,-6,-4,
  -4,2,-6,-10,-11,1,-3,-4,-4,6,2,10,-7,-5,3,6,5,1,-8,-6,8,-1,8,1,1,-2,13,-12,1,2,-10,-5,
  0,-2,9,13,-1,3,4,6,-1,-1,-13,4,5,7,-7,-10,-3,-5,-6,-5,9,3,11,1,3,-12,7,-5,-3,-11,-2,8,
  -5,2,-8,-7,-3,7,12,-2,12,-1,-4,3,3,-1,8,-11,-2,1,8,3,8,8,3,-7,-6,-1,2,-5,9,5,3,1,
  6,13,4,4,-3,-5,-6,-1,4,0,0,-13,-5,0,-6,-2,2,-1,-5,-5,-3,-5,7,9,4,-8,-3,-2,-1,-10,1,-8,
  -3,5,-9,5,10,2,1,8,-2,-2,-4,10,-4,5,-3,-7,-2,-7,2,0,-6,-6,-4,0,1,-6,-3,-1,-7,-11,-1,-6,
  9,13,-2,-3,-8,-4,-5,4,2,-4,-6,-2,-1,9,-7,-1,-5,7,7,-4,0,10,5,-3,-6,13,-6,6,-6,4,3,-9,
  -4,1,-2,-7,0,-3,3,-3,-2,1,6,-5,-5,-3,8,-4,1,4,7,12,0,7,7,1,-12,-7,-6,-4,-3,-1,9,2,
  0,7,-7,-8,-6,9,-2,4,-13,6,-4,11,8,-1,-11,11,9,-2,0,-5,12,0,2,11,-5,5,-1,-1,4,2,5,4,
  13,-1,-4,2,11,-5,-2,-2,2,-4,8,-4,8,-3,9,2,1,7,-11,-6,3,4,-3,-3,-1,-9,-5,3,1,5,3,4
);

/** Python's round() and numpy's rint for a double: halves to the even neighbour. */
export function roundHalfEven(value) {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

// numpy's sum of float64 values (pairwise: eight running sums from eight values on), so
// a kernel's normalisation rounds as Python's does.
function numpySum(values) {
  const n = values.length;
  if (n < 8) {
    let total = 0;
    for (const value of values) total += value;
    return total;
  }
  const partial = values.slice(0, 8);
  let i = 8;
  for (; i < n - (n % 8); i += 8) {
    for (let j = 0; j < 8; j++) partial[j] += values[i + j];
  }
  let total = partial[0] + partial[1] + (partial[2] + partial[3]);
  total += partial[4] + partial[5] + (partial[6] + partial[7]);
  for (; i < n; i++) total += values[i];
  return total;
}

/** A normalised Gaussian of `sigma` over 3 sigma each side, as float32 taps (Python's
 * _gaussian_kernel). */
export function gaussianKernel(sigma) {
  const radius = Math.max(1, roundHalfEven(3 * sigma));
  const taps = [];
  for (let x = -radius; x <= radius; x++) taps.push(Math.exp(-(x * x) / (2 * sigma * sigma)));
  const total = numpySum(taps);
  return Float32Array.from(taps, (tap) => tap / total);
}

const HARRIS_WINDOW = gaussianKernel(1.5);
const SMOOTHING = gaussianKernel(2.0);

// Pillow's division_UINT32: 2^32 / (256 x divider) in float, truncated; the reduced pixel
// is (sum + divider / 2) x this >> 24.
function reduceMultiplier(divider) {
  return Math.trunc(f32(4294967296 / f32(256 * divider)));
}

function reducedMean(total, count) {
  return Math.floor(((total + Math.floor(count / 2)) * reduceMultiplier(count)) / 16777216);
}

/** Pillow's Image.reduce(factor) of an 8-bit luminance: the mean of each factor x factor
 * block, the last row and column over the pixels left, in Pillow's integer arithmetic.
 * Returns {luma, width, height} (each side rounded up). */
export function reduceLuma(luma, width, height, factor) {
  const outWidth = Math.ceil(width / factor);
  const outHeight = Math.ceil(height / factor);
  const out = new Uint8Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    const rows = Math.min(factor, height - y * factor);
    for (let x = 0; x < outWidth; x++) {
      const columns = Math.min(factor, width - x * factor);
      let total = 0;
      for (let yy = y * factor; yy < y * factor + rows; yy++) {
        for (let xx = x * factor; xx < x * factor + columns; xx++) total += luma[yy * width + xx];
      }
      out[y * outWidth + x] = reducedMean(total, rows * columns);
    }
  }
  return { luma: out, width: outWidth, height: outHeight };
}

// Pillow's BOX filter coefficients for one axis (precompute_coeffs, then
// normalize_coeffs_8bpc): per output pixel its first input pixel, how many it reads, and
// the weights in fixed point with 22 fraction bits.
function boxCoefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 0.5 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(2 * outSize);
  const weights = new Int32Array(outSize * ksize);
  const taps = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const at = (x + xmin - center + 0.5) * ss;
      taps[x] = at > -0.5 && at <= 0.5 ? 1 : 0;
      total += taps[x];
    }
    for (let x = 0; x < xmax; x++) {
      const tap = total !== 0 ? taps[x] / total : taps[x];
      weights[xx * ksize + x] = Math.trunc(tap < 0 ? -0.5 + tap * 4194304 : 0.5 + tap * 4194304);
    }
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  return { bounds, weights, ksize };
}

// One pass of Pillow's 8-bit resampling along rows (step 1) or columns (step width):
// the fixed-point sum, rounded by its half, clipped to 0-255.
function resampleLine(input, inStart, inStep, output, outStart, outStep, outSize, coefficients) {
  const { bounds, weights, ksize } = coefficients;
  for (let xx = 0; xx < outSize; xx++) {
    const xmin = bounds[2 * xx];
    const count = bounds[2 * xx + 1];
    let total = 1 << 21;
    for (let x = 0; x < count; x++) {
      total += input[inStart + (x + xmin) * inStep] * weights[xx * ksize + x];
    }
    output[outStart + xx * outStep] = Math.min(255, Math.max(0, Math.floor(total / 4194304)));
  }
}

/** Pillow's Image.resize(size, Resampling.BOX) of an 8-bit luminance (area averaging):
 * one pass along rows and one along columns, each rounded to 8 bits as Pillow rounds it.
 * Pillow (13) runs the column pass first where 2 (width - outWidth) < height - outHeight,
 * the row pass first otherwise; the order changes a few pixels by one, so it is kept. */
export function resizeBox(luma, width, height, outWidth, outHeight) {
  let image = Uint8Array.from(luma);
  let [imageWidth, imageHeight] = [width, height];
  const alongRows = () => {
    const coefficients = boxCoefficients(imageWidth, outWidth);
    const rows = new Uint8Array(outWidth * imageHeight);
    for (let y = 0; y < imageHeight; y++) {
      resampleLine(image, y * imageWidth, 1, rows, y * outWidth, 1, outWidth, coefficients);
    }
    [image, imageWidth] = [rows, outWidth];
  };
  const alongColumns = () => {
    const coefficients = boxCoefficients(imageHeight, outHeight);
    const columns = new Uint8Array(imageWidth * outHeight);
    for (let x = 0; x < imageWidth; x++) {
      resampleLine(image, x, imageWidth, columns, x, imageWidth, outHeight, coefficients);
    }
    [image, imageHeight] = [columns, outHeight];
  };
  const rowsFirst = 2 * (width - outWidth) >= height - outHeight;
  if (rowsFirst && outWidth !== width) alongRows();
  if (outHeight !== height) alongColumns();
  if (!rowsFirst && outWidth !== width) alongRows();
  return image;
}

/** The levels features are found on, as Python's _detect scales them: the longer side
 * to `baseSide`, then each level 1/1.3 the size of the one before, every level scaled
 * from the picture itself (first reduced by a whole factor when it is at least twice
 * the base), until a level is too small for a corner's patch. Returns {levels:
 * [{grey (Uint8Array), width, height}], baseWidth, baseHeight}. */
export function pyramid(luma, width, height, baseSide, levels) {
  if (levels > SCALES.length) throw new RangeError(`at most ${SCALES.length} levels`);
  const factor = baseSide / Math.max(width, height);
  const baseWidth = Math.max(1, roundHalfEven(width * factor));
  const baseHeight = Math.max(1, roundHalfEven(height * factor));
  const whole = Math.floor(Math.max(width, height) / baseSide);
  const source = whole >= 2 ? reduceLuma(luma, width, height, whole) : { luma, width, height };
  const found = [];
  for (let level = 0; level < levels; level++) {
    const scale = SCALES[level];
    const size = [roundHalfEven(baseWidth / scale), roundHalfEven(baseHeight / scale)];
    if (Math.min(...size) <= 2 * EDGE + 4) break;
    const grey = resizeBox(source.luma, source.width, source.height, size[0], size[1]);
    found.push({ grey, width: size[0], height: size[1] });
  }
  return { levels: found, baseWidth, baseHeight };
}

/** Python's separable_filter_reference: rows, then columns, edges replicated, each
 * product and sum rounded to float32 in the reference's order (tap by tap). */
export function separableFilter(image, width, height, kernel) {
  const taps = kernel.length;
  const radius = taps >> 1;
  const rows = new Float32Array(width * height);
  const padded = new Float32Array(width + 2 * radius);
  for (let y = 0; y < height; y++) {
    const start = y * width;
    for (let x = 0; x < width; x++) padded[x + radius] = image[start + x];
    for (let x = 0; x < radius; x++) {
      padded[x] = image[start];
      padded[width + radius + x] = image[start + width - 1];
    }
    for (let i = 0; i < taps; i++) {
      const weight = kernel[i];
      for (let x = 0; x < width; x++) {
        rows[start + x] = f32(rows[start + x] + f32(weight * padded[x + i]));
      }
    }
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const start = y * width;
    for (let i = 0; i < taps; i++) {
      const weight = kernel[i];
      const from = Math.min(Math.max(y + i - radius, 0), height - 1) * width;
      for (let x = 0; x < width; x++) {
        out[start + x] = f32(out[start + x] + f32(weight * rows[from + x]));
      }
    }
  }
  return out;
}

/** Python's harris_reference: Sobel gradients (edges replicated), their products summed
 * over a Gaussian window (sigma 1.5), det - k trace^2, in float32. */
export function harrisResponse(grey, width, height) {
  // The picture with one replicated pixel all round.
  const side = width + 2;
  const padded = new Float32Array(side * (height + 2));
  for (let y = -1; y <= height; y++) {
    const from = Math.min(Math.max(y, 0), height - 1) * width;
    for (let x = -1; x <= width; x++) {
      padded[(y + 1) * side + x + 1] = grey[from + Math.min(Math.max(x, 0), width - 1)];
    }
  }
  const xx = new Float32Array(width * height);
  const yy = new Float32Array(width * height);
  const xy = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const centre = (y + 1) * side + x + 1;
      const [above, below] = [centre - side, centre + side];
      // Whole numbers well inside float32's 24 bits: exact, as in the reference.
      const dx =
        padded[above + 1] - padded[above - 1] +
        2 * (padded[centre + 1] - padded[centre - 1]) +
        (padded[below + 1] - padded[below - 1]);
      const dy =
        padded[below - 1] - padded[above - 1] +
        2 * (padded[below] - padded[above]) +
        (padded[below + 1] - padded[above + 1]);
      xx[y * width + x] = dx * dx;
      yy[y * width + x] = dy * dy;
      xy[y * width + x] = dx * dy;
    }
  }
  const sxx = separableFilter(xx, width, height, HARRIS_WINDOW);
  const syy = separableFilter(yy, width, height, HARRIS_WINDOW);
  const sxy = separableFilter(xy, width, height, HARRIS_WINDOW);
  const response = new Float32Array(width * height);
  for (let p = 0; p < response.length; p++) {
    const trace = f32(sxx[p] + syy[p]);
    const determinant = f32(f32(sxx[p] * syy[p]) - f32(sxy[p] * sxy[p]));
    response[p] = f32(determinant - f32(f32(HARRIS_K * trace) * trace));
  }
  return response;
}

/** Python's peaks_reference: positive responses that are the largest of their 5 x 5
 * neighbourhood, at least `edge` pixels inside, in row order. Returns {ys, xs}. */
export function peaks(response, width, height, edge = EDGE) {
  const ys = [];
  const xs = [];
  const inside = Math.max(edge, 2);
  for (let y = inside; y < height - inside; y++) {
    for (let x = inside; x < width - inside; x++) {
      const value = response[y * width + x];
      if (!(value > 0)) continue;
      let peak = true;
      for (let dy = -2; dy <= 2 && peak; dy++) {
        for (let dx = -2; dx <= 2; dx++) {
          if (response[(y + dy) * width + x + dx] > value) {
            peak = false;
            break;
          }
        }
      }
      if (peak) {
        ys.push(y);
        xs.push(x);
      }
    }
  }
  return { ys, xs };
}

/** Python's _spread: which `count` of the corners (indices, in Python's order) a level
 * keeps. Each cell of a GRID x GRID grid gives its strongest corners first, up to twice
 * its even share, then the strongest of the rest fill up, so that captions and other
 * sharp edits cannot take the whole budget from the photo they frame. */
export function spread(ys, xs, strength, count, height, width) {
  const n = ys.length;
  const cells = ys.map(
    (y, i) => Math.floor((y * GRID) / height) * GRID + Math.floor((xs[i] * GRID) / width),
  );
  const indices = Array.from({ length: n }, (_, i) => i);
  // numpy's lexsort is stable: ties keep the corners' row order.
  const order = indices
    .slice()
    .sort((a, b) => cells[a] - cells[b] || strength[b] - strength[a] || a - b);
  const rank = new Int32Array(n);
  let first = 0;
  for (let j = 0; j < n; j++) {
    if (j > 0 && cells[order[j]] !== cells[order[j - 1]]) first = j;
    rank[order[j]] = j - first;
  }
  const cap = Math.max(1, Math.floor((2 * count) / (GRID * GRID)));
  const over = (i) => (rank[i] >= cap ? 1 : 0);
  const key = indices.sort((a, b) => over(a) - over(b) || strength[b] - strength[a] || a - b);
  return key.slice(0, count);
}

/** The corners of one level Python's _corners keeps, {ys, xs}. */
export function corners(grey, width, height, count) {
  if (count <= 0) return { ys: [], xs: [] };
  const response = harrisResponse(grey, width, height);
  const { ys, xs } = peaks(response, width, height, EDGE);
  if (ys.length <= count) return { ys, xs };
  const strength = ys.map((y, i) => response[y * width + xs[i]]);
  const chosen = spread(ys, xs, strength, count, height, width);
  return { ys: chosen.map((i) => ys[i]), xs: chosen.map((i) => xs[i]) };
}

/** The angle of each corner's patch's intensity centroid (radians), over the disc of
 * radius 15. The moments are sums of whole numbers small enough to be exact, as in
 * Python; only atan2's last bit may differ. */
export function orientation(grey, width, ys, xs) {
  const angles = new Float64Array(ys.length);
  for (let k = 0; k < ys.length; k++) {
    let m10 = 0;
    let m01 = 0;
    for (let dy = -PATCH_RADIUS; dy <= PATCH_RADIUS; dy++) {
      const span = Math.floor(Math.sqrt(PATCH_RADIUS * PATCH_RADIUS - dy * dy));
      const start = (ys[k] + dy) * width + xs[k];
      let total = 0;
      for (let dx = -span; dx <= span; dx++) {
        const value = grey[start + dx];
        total += value;
        m10 += value * dx;
      }
      m01 += total * dy;
    }
    angles[k] = Math.atan2(m01, m10);
  }
  return angles;
}

/** Steered-BRIEF descriptors (32 bytes each, bit i of the pattern as bit i % 8 of byte
 * i / 8): pattern point pairs turned by each corner's angle, sampled from the smoothed
 * level at the nearest pixel (halves to even, as numpy's rint), bit set where the first
 * is darker than the second. */
export function describe(smooth, width, ys, xs, angles) {
  const out = new Uint8Array(ys.length * DESCRIPTOR_BYTES);
  for (let k = 0; k < ys.length; k++) {
    const c = Math.cos(angles[k]);
    const s = Math.sin(angles[k]);
    // (ys + s px) + c py and (xs + c px) - s py, in Python's order of operations.
    const sample = (px, py) =>
      smooth[
        roundHalfEven(ys[k] + s * px + c * py) * width + roundHalfEven(xs[k] + c * px - s * py)
      ];
    for (let bit = 0; bit < 8 * DESCRIPTOR_BYTES; bit++) {
      const p = 4 * bit;
      if (sample(PATTERN[p], PATTERN[p + 1]) < sample(PATTERN[p + 2], PATTERN[p + 3])) {
        out[k * DESCRIPTOR_BYTES + (bit >> 3)] |= 1 << (bit & 7);
      }
    }
  }
  return out;
}

/** Python's features_from_luma: the strongest corners of a `width` x `height`
 * luminance (row-major, 0-255) and their descriptors. Returns {xy (Float32Array, x and
 * y of each feature over the base side), level (Int8Array), angle (Float32Array,
 * radians), descriptors (Uint8Array, 32 bytes each), extent ([width, height] of the base
 * over its side), baseSide}, levels in order and each level's corners in Python's. */
export function featuresFromLuma(
  luma,
  width,
  height,
  { count = REGISTERED_FEATURES, baseSide = REGISTERED_BASE_SIDE, levels = REGISTERED_LEVELS } = {},
) {
  if (luma.length !== width * height) {
    throw new RangeError(`luma holds ${luma.length} values, not ${width} x ${height}`);
  }
  const built = pyramid(luma, width, height, baseSide, levels);
  // Registration shares corners among levels by the square root of their area, so a
  // copy held small, which meets only the coarse levels, still finds enough of them.
  const weights = built.levels.map((level) => Math.sqrt(level.width * level.height));
  let total = 0;
  for (const weight of weights) total += weight;
  const xy = [];
  const levelIds = [];
  const angles = [];
  const descriptors = [];
  built.levels.forEach((level, number) => {
    const share = Math.floor((count * weights[number]) / total);
    const { ys, xs } = corners(level.grey, level.width, level.height, share);
    if (ys.length === 0) return;
    const angle = orientation(level.grey, level.width, ys, xs);
    const smooth = separableFilter(level.grey, level.width, level.height, SMOOTHING);
    descriptors.push(describe(smooth, level.width, ys, xs, angle));
    // Positions in the base image over the base side, in float32 as Python keeps them.
    const scale = f32(SCALES[number] / baseSide);
    for (let k = 0; k < ys.length; k++) {
      xy.push(f32(xs[k] * scale), f32(ys[k] * scale));
      levelIds.push(number);
      angles.push(f32(angle[k]));
    }
  });
  const joined = new Uint8Array(levelIds.length * DESCRIPTOR_BYTES);
  let offset = 0;
  for (const part of descriptors) {
    joined.set(part, offset);
    offset += part.length;
  }
  return {
    xy: Float32Array.from(xy),
    level: Int8Array.from(levelIds),
    angle: Float32Array.from(angles),
    descriptors: joined,
    extent: [built.baseWidth / baseSide, built.baseHeight / baseSide],
    baseSide,
  };
}

const TURN = f32(2 * Math.PI);

/** Python's features_to_bytes: the "RKF" version 1 payload a keypoints signal stores, a
 * 12-byte header (magic, version, base side, extent, count; little-endian) and 38 bytes
 * a feature (x, y over the base side in 1/65535 steps, level, angle in 256 steps a turn,
 * descriptor). The arithmetic is numpy's float32 arithmetic on the same values. */
export function featuresToBytes(features) {
  const count = features.level.length;
  const data = new Uint8Array(HEADER_BYTES + count * RECORD_BYTES);
  const view = new DataView(data.buffer);
  data.set([0x52, 0x4b, 0x46, VERSION]); // "RKF", version
  view.setUint16(4, features.baseSide, true);
  const [extentWidth, extentHeight] = features.extent.map((e) =>
    roundHalfEven(Math.min(Math.max(e, 0), 1) * 65535),
  );
  view.setUint16(6, extentWidth, true);
  view.setUint16(8, extentHeight, true);
  view.setUint16(10, count, true);
  const steps = (v) => Math.min(65535, Math.max(0, roundHalfEven(f32(v * 65535))));
  for (let k = 0; k < count; k++) {
    const at = HEADER_BYTES + k * RECORD_BYTES;
    view.setUint16(at, steps(features.xy[2 * k]), true);
    view.setUint16(at + 2, steps(features.xy[2 * k + 1]), true);
    data[at + 4] = features.level[k];
    // numpy's float32 remainder: a negative angle plus a turn, rounded to float32.
    const angle = features.angle[k];
    const turned = angle < 0 ? f32(angle + TURN) : angle;
    data[at + 5] = roundHalfEven(f32(f32(turned / TURN) * 256)) % 256;
    data.set(
      features.descriptors.subarray(k * DESCRIPTOR_BYTES, (k + 1) * DESCRIPTOR_BYTES),
      at + 6,
    );
  }
  return data;
}

/** What Reclaim registers as a picture's keypoints signal (files._registered_features):
 * the payload of its features, or null where it has fewer than MIN_INLIERS (too plain a
 * picture ever to match by them). `luma` as lumaFromRgba in pdq.js gives it. */
export function keypointsFromLuma(luma, width, height) {
  const features = featuresFromLuma(luma, width, height);
  return features.level.length >= MIN_INLIERS ? featuresToBytes(features) : null;
}
