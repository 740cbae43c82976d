// Runs the browser's PDQ (reclaim/web/static/pdq.js) under Node for tests: reads a JSON
// list of {"file", "width", "height", "rgba"?} (raw 8-bit luminance files, or RGBA pixels
// where "rgba" is true) on stdin, prints a JSON list of {"hex", "quality"}.
import { readFileSync } from "node:fs";
import { lumaFromRgba, pdqFromLuma } from "../../reclaim/web/static/pdq.js";

const jobs = JSON.parse(readFileSync(0, "utf8"));
const results = jobs.map(({ file, width, height, rgba }) => {
  const bytes = readFileSync(file);
  const luma = rgba ? lumaFromRgba(bytes, width, height) : bytes;
  return pdqFromLuma(luma, width, height);
});
process.stdout.write(JSON.stringify(results));
