// alerts.js: messages to the visitor. An alert is something that failed (a
// file, the weights, a run, the worker); a notice is something the page did
// on the visitor's behalf and says so (a setting from the link it ignored, a
// layer the weights lack, a downscaled image). Both can be dismissed.

import { $ } from "./state.js";

/** Shows an alert; detail goes in a <pre>, retry is {label, action}. An id
 * replaces the earlier alert of that id. */
export function alertBox(message, { detail = "", retry = null, id = "" } = {}) {
  if (id) document.getElementById(id)?.remove();
  const box = document.createElement("div");
  box.className = "alert";
  if (id) box.id = id;
  const msg = document.createElement("div");
  msg.className = "msg";
  msg.textContent = message;
  if (detail) {
    const pre = document.createElement("pre");
    pre.textContent = detail;
    msg.append(pre);
  }
  box.append(msg);
  if (retry) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = retry.label;
    b.addEventListener("click", () => {
      box.remove();
      retry.action();
    });
    box.append(b);
  }
  box.append(dismissButton(box));
  $("alerts").append(box);
  return box;
}

/** Shows a notice. An id replaces the earlier notice of that id. */
export function notice(message, id = "") {
  if (id) document.getElementById(id)?.remove();
  const box = document.createElement("div");
  box.className = "notice";
  if (id) box.id = id;
  const msg = document.createElement("div");
  msg.className = "msg";
  msg.textContent = message;
  box.append(msg, dismissButton(box));
  $("notices").append(box);
  return box;
}

function dismissButton(box) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "dismiss";
  b.setAttribute("aria-label", "Dismiss");
  b.textContent = "×";
  b.addEventListener("click", () => box.remove());
  return b;
}
