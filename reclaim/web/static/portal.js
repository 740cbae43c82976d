// The portal's one script: fingerprints the files a survivor chooses, on their device,
// and puts only the fingerprints into the form. The file input has no name, so the form
// cannot carry a file even if this script fails; what is sent is the hidden
// "fingerprints" field this script fills. Every text it shows comes from the page (data-
// attributes rendered in the visitor's language).

import { lumaFromRgba, pdqFromLuma } from "./pdq.js";
import { fileDigests, Sha256 } from "./digests.js";
import { keypointsFromLuma } from "./keypoints.js";

const picker = document.getElementById("picker");
const form = document.getElementById("fingerprint-form");

function say(name, values = {}) {
  const text = picker.dataset[name] ?? "";
  return text.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function base64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The picture's pixels as luminance, decoded by the browser (EXIF orientation applied,
 * transparency over white, as Reclaim's decoder does), or null when it cannot decode it. */
async function lumaOf(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return null;
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.fillStyle = "#fff";
  context.fillRect(0, 0, width, height);
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data } = context.getImageData(0, 0, width, height);
  return { luma: lumaFromRgba(data, width, height), width, height };
}

/** Every fingerprint of one file: exact hashes always; for a picture the browser can
 * decode, its PDQ (when its quality is high enough to trust) and its local features. */
async function fingerprintsOf(file, minQuality, progress) {
  const found = [];
  const { md5, sha256 } = await fileDigests(file, progress);
  found.push({ type: "md5", value: md5 }, { type: "sha256", value: sha256 });
  if (file.type.startsWith("video/")) return { found, kind: "video" };
  const picture = await lumaOf(file);
  if (picture === null) return { found, kind: "unreadable" };
  const { luma, width, height } = picture;
  const pdq = pdqFromLuma(luma, width, height);
  if (pdq.quality >= minQuality) found.push({ type: "pdq", value: pdq.hex, quality: pdq.quality });
  const features = keypointsFromLuma(luma, width, height);
  if (features !== null) {
    const digest = new Sha256();
    digest.update(features);
    found.push({ type: "keypoints", value: digest.hexdigest(), payload: base64(features) });
  }
  return { found, kind: "image" };
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
  let run = 0;

  input.addEventListener("change", async () => {
    const files = [...input.files];
    const mine = ++run; // a newer choice replaces this one
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
    const all = [];
    for (const [index, file] of files.entries()) {
      progress.value = index;
      status.textContent = say("textWorking", { done: index + 1, total: files.length });
      // A long video takes a while to read: the bar moves within the file too.
      const within = (done, total) => {
        if (mine === run) progress.value = index + done / Math.max(total, 1);
      };
      let found = [];
      let kind = "unreadable";
      try {
        ({ found, kind } = await fingerprintsOf(file, minQuality, within));
      } catch {
        // A file the device cannot read (gone, too large to decode): named on the page,
        // left out of what is sent, and the others go on.
      }
      if (mine !== run) return;
      all.push(...found);
      const item = document.createElement("li");
      // The file's name is shown here only; it is never sent.
      item.textContent = `${file.name}: ${say(kind === "image" ? "textImage" : kind === "video" ? "textVideo" : "textUnreadable")}`;
      chosen.append(item);
    }
    progress.value = files.length;
    if (all.length === 0) return;
    hidden.value = JSON.stringify(all);
    status.textContent = say("textDone", { total: files.length });
    send.disabled = false;
  });

  form.addEventListener("submit", (event) => {
    if (!hidden.value) event.preventDefault();
  });
}
