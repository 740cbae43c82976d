// Every fingerprint of one chosen file, made on the device: shared by the portal's
// workers (hasher.js) and, where a browser cannot run them, by the page itself.

import { lumaFromRgba, pdqFromLuma } from "./pdq.js";
import { fileDigests, Sha256 } from "./digests.js";
import { keypointsFromLuma } from "./keypoints.js";

function base64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The picture's pixels as luminance, decoded by the browser (EXIF orientation applied,
 * transparency over white, as Reclaim's decoder does), or null when it cannot decode it. */
export async function lumaOf(file) {
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
 * decode, its PDQ (when its quality is high enough to trust) and its local features.
 * ``progress(done, total)`` follows the reading of the file's bytes. */
export async function fingerprintsOf(file, minQuality, progress = () => {}) {
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
