// Runs the browser's digests (reclaim/web/static/digests.js) under Node for tests: reads a
// JSON list of {"file", "chunk"} on stdin and prints a JSON list of {"md5", "sha256"},
// each file fed to the hashes `chunk` bytes at a time (and, through fileDigests, as a Blob).
import { readFileSync } from "node:fs";
import { Md5, Sha256, fileDigests } from "../../reclaim/web/static/digests.js";

const jobs = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const { file, chunk, view } of jobs) {
  const read = readFileSync(file);
  const md5 = new Md5();
  const sha256 = new Sha256();
  // As DataViews when asked: a digest takes the bytes of any view, not its elements.
  const piece = (offset) =>
    view
      ? new DataView(read.buffer, read.byteOffset + offset, Math.min(chunk, read.length - offset))
      : read.subarray(offset, offset + chunk);
  for (let offset = 0; offset < read.length || offset === 0; offset += chunk) {
    md5.update(piece(offset));
    sha256.update(piece(offset));
    if (read.length === 0) break;
  }
  const sliced = await fileDigests(new Blob([read]), () => {}, chunk);
  results.push({ md5: md5.hexdigest(), sha256: sha256.hexdigest(), sliced });
}
process.stdout.write(JSON.stringify(results));
