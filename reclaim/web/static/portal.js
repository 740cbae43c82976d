// The portal's page script: fingerprints the files a survivor chooses, on their device,
// and puts only the fingerprints into the form. The file input has no name, so the form
// cannot carry a file even if this script fails; what is sent is the hidden
// "fingerprints" field this script fills. Every text it shows comes from the page (data-
// attributes rendered in the visitor's language).
//
// The work runs in workers (hasher.js), up to two files at once (one on a device short of
// memory), so the page stays responsive; a browser that cannot start them has the page do
// it, one file at a time.

import { fingerprintsOf } from "./fingerprints.js";

const picker = document.getElementById("picker");
const form = document.getElementById("fingerprint-form");
// A 12 MP photo takes about 200 MB while it is worked on (its pixels, their luminance,
// PDQ's two float buffers): a device that says it has little memory works on one file at
// a time.
const LANES = (navigator.deviceMemory ?? 4) < 4 ? 1 : Math.max(1, Math.min(2, navigator.hardwareConcurrency || 1));

function say(name, values = {}) {
  const text = picker.dataset[name] ?? "";
  return text.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

/** One worker's turn at a file: resolves with its fingerprints; rejects if the worker
 * cannot run (then the page takes over) or the choice is abandoned (`stop` aborted). */
function inWorker(worker, job, file, minQuality, progress, stop) {
  return new Promise((resolve, reject) => {
    const answer = ({ data }) => {
      if (data.job !== job) return;
      if (data.result === undefined) return progress(data.done, data.total);
      finish();
      resolve(data.result);
    };
    const fail = (event) => {
      event.preventDefault();
      finish();
      reject(new Error("the worker cannot run"));
    };
    const abandon = () => {
      finish();
      reject(new Error("abandoned"));
    };
    const finish = () => {
      worker.removeEventListener("message", answer);
      worker.removeEventListener("error", fail);
      stop.removeEventListener("abort", abandon);
    };
    worker.addEventListener("message", answer);
    worker.addEventListener("error", fail);
    stop.addEventListener("abort", abandon);
    worker.postMessage({ job, file, minQuality });
  });
}

function startWorker() {
  try {
    return new Worker(new URL("./hasher.js", import.meta.url), { type: "module" });
  } catch {
    return null;
  }
}

async function inPage(file, minQuality, progress) {
  try {
    return await fingerprintsOf(file, minQuality, progress);
  } catch {
    return { found: [], kind: "unreadable" }; // too large to decode, gone meanwhile
  }
}

/** Fingerprints of every file, in the files' order, with ``progress(index, done, total)``
 * as each is read and ``finished(index, result)`` as each is done; null if ``stop`` (an
 * AbortSignal) is aborted first, when a newer choice replaces this one: its workers are
 * ended at once, whatever they were doing. */
export async function fingerprintAll(files, minQuality, progress, finished, stop) {
  const results = new Array(files.length);
  const workers = [];
  const endWorkers = () => {
    for (const worker of workers) worker.terminate();
  };
  stop.addEventListener("abort", endWorkers);
  let next = 0;
  let pageOnly = typeof Worker === "undefined";
  const lane = async () => {
    let worker = pageOnly ? null : startWorker();
    if (worker !== null) workers.push(worker);
    while (next < files.length && !stop.aborted) {
      const index = next++;
      const within = (done, total) => progress(index, done, total);
      let result = null;
      if (worker !== null && !pageOnly) {
        try {
          result = await inWorker(worker, index, files[index], minQuality, within, stop);
        } catch {
          if (stop.aborted) return;
          pageOnly = true; // e.g. no module workers: every lane goes on in the page
          worker.terminate();
          worker = null;
        }
      }
      result ??= await inPage(files[index], minQuality, within);
      if (stop.aborted) return;
      results[index] = result;
      finished(index, result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LANES, files.length) }, lane));
  stop.removeEventListener("abort", endWorkers);
  endWorkers();
  return stop.aborted ? null : results;
}

if (picker && form) {
  const input = document.getElementById("files");
  const progress = document.getElementById("progress");
  const status = document.getElementById("status");
  const chosen = document.getElementById("chosen");
  const hidden = document.getElementById("fingerprints");
  const send = document.getElementById("send");
  const minQuality = Number(picker.dataset.minQuality);
  const maxFiles = Number(picker.dataset.maxFiles);
  let choice = new AbortController();

  input.addEventListener("change", async () => {
    const files = [...input.files];
    choice.abort(); // a newer choice replaces the one before
    choice = new AbortController();
    const stop = choice.signal;
    const current = () => !stop.aborted;
    send.disabled = true;
    hidden.value = "";
    chosen.replaceChildren();
    if (files.length === 0) return;
    if (files.length > maxFiles) {
      status.textContent = say("textTooMany", { limit: maxFiles });
      return;
    }
    progress.hidden = false;
    progress.max = files.length;
    progress.value = 0;
    // One line per file, in order, filled in as each is done. Its name is shown here
    // only; it is never sent.
    const items = files.map((file) => {
      const item = document.createElement("li");
      item.textContent = file.name;
      chosen.append(item);
      return item;
    });
    const reading = new Array(files.length).fill(0);
    let finished = 0;
    const show = () => {
      if (!current()) return;
      progress.value = reading.reduce((sum, part) => sum + part, 0);
      status.textContent = say("textWorking", { done: Math.min(finished + 1, files.length), total: files.length });
    };
    show();
    // A long video takes a while to read: the bar moves within the file too.
    const within = (index, done, total) => {
      reading[index] = Math.min(done / Math.max(total, 1), 0.99);
      show();
    };
    const done = (index, { kind }) => {
      reading[index] = 1;
      finished += 1;
      const text = say(kind === "image" ? "textImage" : kind === "video" ? "textVideo" : "textUnreadable");
      items[index].textContent = `${files[index].name}: ${text}`;
      show();
    };
    const results = await fingerprintAll(files, minQuality, within, done, stop);
    if (results === null) return;
    progress.value = files.length;
    const all = results.flatMap(({ found }) => found);
    if (all.length === 0) return;
    hidden.value = JSON.stringify(all);
    status.textContent = say("textDone", { total: files.length });
    send.disabled = false;
  });

  form.addEventListener("submit", (event) => {
    if (!hidden.value) event.preventDefault();
  });
}
