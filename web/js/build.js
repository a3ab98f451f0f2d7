// build.js: which build of the page this is. `make dist` (tools/serve
// -dist) rewrites this file with the build's version (a hash of its files,
// which also names the service worker's cache), its label, the weight packs
// it ships and sw: true, which registers the service worker (offline.js).
// This copy is the dev server's: no service worker, both packs.
export const build = { version: "dev", label: "dev", pack: "f16", packs: ["f16", "q8"], sw: false };
