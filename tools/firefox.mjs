// firefox.mjs: what crema's scripts that drive Firefox share — Debian's
// firefox-esr (never a downloaded browser), launched headless through
// puppeteer-core over WebDriver BiDi with the preferences that expose
// WebGPU (wgpu/Naga, on Vulkan: Mesa's lavapipe on a machine without a GPU).
// Pages must be served from http://localhost:PORT/ (a secure context, which
// WebGPU requires; 127.0.0.1 is not treated as one by every Firefox).
//
// Environment: FIREFOX (default /usr/bin/firefox-esr).

import puppeteer from "puppeteer-core";

/** The Firefox executable. */
export const FIREFOX = process.env.FIREFOX || "/usr/bin/firefox-esr";

/** The preferences that enable WebGPU in a headless Firefox ESR. */
export const WEBGPU_PREFS = {
  "dom.webgpu.enabled": true,
  "gfx.webgpu.force-enabled": true,
  "gfx.webgpu.ignore-blocklist": true,
};

/** Keeps Firefox off the (closed) network and quiet. */
export const QUIET_PREFS = {
  "app.update.enabled": false,
  "browser.shell.checkDefaultBrowser": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "toolkit.telemetry.reportingpolicy.firstRun": false,
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "extensions.update.enabled": false,
  "browser.safebrowsing.malware.enabled": false,
  "browser.safebrowsing.phishing.enabled": false,
};

/** Launches Firefox headless with WebGPU (puppeteer-core's Browser). */
export function launchFirefox({ webgpu = true, headless = true, prefs = {} } = {}) {
  return puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
    headless,
    extraPrefsFirefox: { ...(webgpu ? WEBGPU_PREFS : {}), ...QUIET_PREFS, ...prefs },
  });
}
