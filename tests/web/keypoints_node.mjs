// Runs the browser's local features (reclaim/web/static/keypoints.js) under Node for
// tests: reads a JSON list of jobs on stdin, each {"op", "file", "width", "height", ...}
// over a raw 8-bit luminance file, and prints a JSON list of results, bytes as base64:
// "keypoints" gives keypointsFromLuma's payload (null for too few features), "features"
// the payload of featuresFromLuma however few, "resize" resizeBox to "to" [width,
// height], "reduce" reduceLuma by "factor"; "constants" (its file unread) gives the pattern and
// the Gaussian kernels.
import { readFileSync } from "node:fs";
import {
  PATTERN,
  featuresFromLuma,
  featuresToBytes,
  gaussianKernel,
  keypointsFromLuma,
  reduceLuma,
  resizeBox,
} from "../../reclaim/web/static/keypoints.js";

const base64 = (bytes) => (bytes === null ? null : Buffer.from(bytes).toString("base64"));

const jobs = JSON.parse(readFileSync(0, "utf8"));
const results = jobs.map(({ op, file, width, height, to, factor }) => {
  if (op === "constants") {
    const kernels = [1.5, 2.0].map((sigma) => Array.from(gaussianKernel(sigma)));
    return { pattern: Array.from(PATTERN), kernels };
  }
  const luma = readFileSync(file);
  if (op === "keypoints") return base64(keypointsFromLuma(luma, width, height));
  if (op === "features") return base64(featuresToBytes(featuresFromLuma(luma, width, height)));
  if (op === "resize") return base64(resizeBox(luma, width, height, to[0], to[1]));
  if (op === "reduce") return base64(reduceLuma(luma, width, height, factor).luma);
  throw new Error(`unknown op ${op}`);
});
process.stdout.write(JSON.stringify(results));
