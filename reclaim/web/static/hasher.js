// A worker that fingerprints the files the portal hands it, one at a time, so the page
// stays responsive and a device with several cores works on several files at once. The
// file comes from the page by postMessage (a copy within the browser, never a request);
// only its fingerprints go back.

import { fingerprintsOf } from "./fingerprints.js";

self.addEventListener("message", async ({ data: { job, file, minQuality } }) => {
  const progress = (done, total) => self.postMessage({ job, done, total });
  let result;
  try {
    result = await fingerprintsOf(file, minQuality, progress);
  } catch {
    result = { found: [], kind: "unreadable" }; // too large to decode, gone meanwhile
  }
  self.postMessage({ job, result });
});
