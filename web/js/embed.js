// embed.js: the page inside another (?embed=1, the compact layout). It
// tells the host its height whenever that changes (postMessage
// {type: "crema:height", height}; the snippet's script sets the iframe's
// height from it), and with poster=1 (what the page's embed snippet uses)
// it starts as a poster: a still picture (the result in the URL's fragment,
// #poster=data:image/jpeg;base64,…, else the content example) with one
// button. Nothing heavy (the worker and its wasm, the weights, the service
// worker) is fetched until the reader presses it; then the page starts and
// runs once it is ready.

import { $, params, embed } from "./state.js";

/** Whether the page opens as a poster. */
export const poster = embed && params.get("poster") === "1";

/** Reports the page's height to the host page, now and on every change. */
export function reportHeight() {
  if (!embed || window.parent === window) return;
  let last = 0;
  const post = () => {
    const h = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (h === last) return;
    last = h;
    try {
      window.parent.postMessage({ type: "crema:height", height: h }, "*");
    } catch {
      // no host to tell
    }
  };
  new ResizeObserver(post).observe(document.body);
  post();
}

/** The still picture of the fragment (a data URL of an image), or "". */
function fragmentPicture() {
  const m = /(?:^#|&)poster=([^&]+)/.exec(location.hash);
  if (!m) return "";
  const url = decodeURIComponent(m[1]);
  return /^data:image\/(jpeg|png|webp);base64,[A-Za-z0-9+/=]+$/.test(url) ? url : "";
}

/** Shows the poster; start() runs when the reader presses its button. */
export function showPoster(start, contentFile) {
  document.body.classList.add("poster");
  const box = $("poster");
  box.hidden = false;
  const img = $("poster-img");
  const pic = fragmentPicture();
  img.src = pic || `samples/${contentFile}`;
  img.alt = pic ? "The result of a style transfer, made with the settings of this embed" : "The content image of this embed";
  $("poster-run").addEventListener(
    "click",
    () => {
      box.hidden = true;
      document.body.classList.remove("poster");
      start();
    },
    { once: true },
  );
}
