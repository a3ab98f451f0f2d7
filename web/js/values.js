// values.js: the settings' values (name → text) and Go's verdict on them.
// The page sends values in a settings message; the worker answers with
// every value as text and parsed, the values it refused and why the
// settings would not run on the loaded weights (PROTOCOL.md). The worker
// answers every settings message once, in order, so answers are matched to
// questions by counting. A check in flight is not answered twice: changes
// made meanwhile go in one new check when it is back, and only the answer
// to the newest values is kept. No answer ever goes back into a control:
// the controls write values; only the link's answer (at load) and the
// page's own moves off layers the weights lack (layers.js) fill them.

import { state } from "./state.js";
import { send, on } from "./client.js";

const waiting = []; // one resolver per settings message sent, in order
let again = false; // values changed while a check was in flight
const listeners = []; // called after each check
const idle = []; // resolvers waiting for no check in flight

on("settings", (m) => waiting.shift()?.(m));

/** Asks Go to read values over the page's defaults; resolves to its answer. */
export function ask(values) {
  return new Promise((ok) => {
    waiting.push(ok);
    send({ type: "settings", values, shape: imageShape() });
  });
}

/** The images' sizes, for the memory model (memory.js), which the worker
 * needs before the page sends it the pixels; undefined before they load. */
function imageShape() {
  if (!state.content) return undefined;
  return { content: [state.content.width, state.content.height], styles: state.styles.map((s) => [s.width, s.height]) };
}

/** Calls fn() after each check of the values. */
export function onChecked(fn) {
  listeners.push(fn);
}

let resolveLoaded;
/** Resolves once the link's values are the page's (adopt). */
export const loaded = new Promise((ok) => (resolveLoaded = ok));

/** Takes an answer's values and settings as the page's state (the link's,
 * at load). */
export function adopt(m) {
  state.values = { ...m.values };
  keep(m);
  resolveLoaded();
}

function keep(m) {
  state.settings = m.settings;
  state.check = { refused: m.refused || [], error: m.error || "" };
  state.memory = m.memory || null; // the memory model's plan (memory.js)
}

/** Sets one value (as a control wrote it) and has Go check the values. */
export function setValue(name, text) {
  if (!state.values || state.values[name] === text) return;
  state.values[name] = text;
  checkValues();
}

/** Sends the values to Go for its check and keeps the answer as
 * state.settings and state.check (see the top of this file). */
export async function checkValues() {
  if (!state.values) return;
  if (state.checking) {
    again = true;
    return;
  }
  state.checking = true;
  let m;
  do {
    again = false;
    m = await ask({ ...state.values });
  } while (again);
  keep(m);
  state.checking = false;
  for (const ok of idle.splice(0)) ok();
  for (const fn of listeners) fn();
}

/** Resolves when no check is in flight (state.settings matches values). */
export function settled() {
  return state.checking ? new Promise((ok) => idle.push(ok)) : Promise.resolve();
}
