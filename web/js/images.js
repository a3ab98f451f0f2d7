// images.js: turning what the visitor gives (a file, a drop, a paste, a
// sample's URL) into RGBA pixels for the worker, with the bad cases named:
// not an image, an image the browser cannot decode, an image so large that
// it is downscaled first (said so in a notice).

/** Images larger than this on their long side are downscaled in the page:
 * a run never uses more than the largest image size the page offers. */
export const MAX_SIDE = 1024;

/** Decodes blob into {name, width, height, pixels (Uint8ClampedArray RGBA),
 * notice}. Throws an Error whose message is meant for the visitor. */
export async function decodeImage(blob, name = blob.name || "pasted image") {
  if (blob.type && !blob.type.startsWith("image/")) {
    throw new Error(`${name} is not an image (its type is ${blob.type}); choose a PNG, JPEG, WebP or GIF file`);
  }
  if (blob.size === 0) throw new Error(`${name} is empty`);
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    throw new Error(`${name} could not be read as an image: the file is corrupt or in a format this browser does not decode`);
  }
  const w0 = bitmap.width;
  const h0 = bitmap.height;
  let w = w0;
  let h = h0;
  let notice = "";
  if (Math.max(w0, h0) > MAX_SIDE) {
    const k = MAX_SIDE / Math.max(w0, h0);
    w = Math.max(1, Math.round(w0 * k));
    h = Math.max(1, Math.round(h0 * k));
    const mp = (w0 * h0) / 1e6;
    notice = `${name} is ${w0}×${h0} (${mp.toFixed(mp < 10 ? 1 : 0)} megapixels); it was downscaled to ${w}×${h} in this page, which is more than a run uses`;
    try {
      const small = await createImageBitmap(bitmap, { resizeWidth: w, resizeHeight: h, resizeQuality: "high" });
      bitmap.close();
      bitmap = small;
    } catch {
      // drawImage below scales instead
    }
  }
  const canvas = makeCanvas(w, h);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0, w, h);
  bitmap.close();
  const pixels = ctx.getImageData(0, 0, w, h).data;
  return { name, width: w, height: h, pixels, notice };
}

function makeCanvas(w, h) {
  if (typeof OffscreenCanvas === "function") return new OffscreenCanvas(w, h);
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  return c;
}

/** Fetches a same-origin sample and decodes it. */
export async function loadSample(url, name) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`sample ${name}: HTTP ${r.status}`);
  return decodeImage(await r.blob(), name);
}

/** Draws decoded RGBA pixels into a canvas element (resizing it). */
export function drawPixels(canvas, img) {
  canvas.width = img.width;
  canvas.height = img.height;
  const data = img.pixels instanceof Uint8ClampedArray ? img.pixels : new Uint8ClampedArray(img.pixels);
  canvas.getContext("2d").putImageData(new ImageData(data, img.width, img.height), 0, 0);
}
