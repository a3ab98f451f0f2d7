// exec.js is the JavaScript half of crema's WebGPU backend (the Go half is
// the rest of package webgpu; exec_js.go drives this file). Go evaluates it
// once, as the body of
//
//   new Function("device", "uniformSlot", "OP", "BIND", source)
//
// and keeps the object it returns. Go never touches GPU objects itself: it
// records operations into a command stream of uint32 words in wasm memory
// and hands the whole stream over in one call (run), so that a training
// iteration crosses from Go to JavaScript a handful of times instead of a
// few per operation.
//
// No error passes silently: every GPU call (buffer creation, writes, each
// submitted batch, readback copies) runs inside error scopes for
// validation, out-of-memory and internal errors; the promises of their
// verdicts are kept, and read awaits all of them before it trusts (or even
// maps) its data: it resolves to the bytes, or to the text of the first
// error ("validation error: ..."), which Go turns into a failure of the
// backend. Pipelines are all created at Open with
// createComputePipelineAsync (newPipelines), never while a batch records.
//
// The stream's words and the binding kinds of a pipeline are defined once,
// in Go (stream.go and pipeline.go), which passes their names here:
//   OP.DISPATCH pipe slot gx gy gz nb id_1..id_nb
//                 dispatch pipeline `pipe` over gx×gy×gz workgroups with the
//                 uniform slot `slot` and storage buffers id_1.. bound in the
//                 order of the pipeline's bindings
//   OP.COPY src srcOff dst dstOff size
//                 copyBufferToBuffer (bytes)
//   OP.CLEAR id size
//                 clearBuffer (zero the first size bytes)
//   BIND.UNIFORM, BIND.READ, BIND.WRITE, BIND.NONE: one character per
//                 binding number of a pipeline (uniform, read-only storage,
//                 read-write storage, unused)
"use strict";

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
// The buffer binding type of each binding kind a pipeline's spec may name.
const BUFFER_TYPES = {
  [BIND.UNIFORM]: "uniform",
  [BIND.READ]: "read-only-storage",
  [BIND.WRITE]: "storage",
};

const bufs = new Map(); // buffer id -> GPUBuffer
const pipes = []; // pipeline id -> {pipeline, layout, spec}
const modules = new Map(); // module name -> GPUShaderModule
const groups = new Map(); // bind-group key -> GPUBindGroup
const keysOf = new Map(); // buffer id -> bind-group keys that use it
const uncaptured = []; // errors raised outside every scope, oldest first
let verdicts = []; // promises of "" or an error's text, one per scoped call since the last read

let cmdBuf = new ArrayBuffer(1 << 16);
let cmdU8 = new Uint8Array(cmdBuf);
let cmdU32 = new Uint32Array(cmdBuf);
let uniU8 = new Uint8Array(1 << 16);
let ubuf = null; // the uniform ring: one slot of uniformSlot bytes per dispatch
let stage = new Uint8Array(1 << 16); // host staging for writes and readbacks
let rb = null; // the MAP_READ readback buffer
let rbSize = 0;

let lostReason = ""; // "reason: message" once device.lost has resolved
let compiled = 0; // pipelines whose compilation has ended (made or failed)
device.lost.then((info) => {
  lostReason = `${info.reason || "unknown"}: ${info.message || "device lost"}`;
});

device.addEventListener("uncapturederror", (ev) => {
  const msg = String((ev.error && ev.error.message) || ev.error);
  if (uncaptured.length < 16) uncaptured.push(msg);
  console.error("crema webgpu: " + msg);
});

// scoped calls f inside error scopes for validation, out-of-memory and
// internal errors and returns a promise of "" or the text of the first error
// (an exception thrown by f counts as one).
function scoped(f) {
  device.pushErrorScope("out-of-memory");
  device.pushErrorScope("validation");
  device.pushErrorScope("internal");
  let thrown = null;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  const internal = device.popErrorScope();
  const validation = device.popErrorScope();
  const oom = device.popErrorScope();
  return Promise.all([oom, validation, internal]).then(
    ([o, v, i]) => {
      let msg = "";
      if (thrown) msg = `exception: ${(thrown && thrown.message) || thrown}`;
      else if (o) msg = `out of memory: ${o.message}`;
      else if (v) msg = `validation error: ${v.message}`;
      else if (i) msg = `internal error: ${i.message}`;
      if (!msg) return "";
      // The browser's message may go on with lines of context (" - While
      // encoding ..."): they go to the console; the error keeps the first.
      console.error("crema webgpu: " + msg);
      return msg.split("\n")[0].trim();
    },
    (e) => `error scope: ${(e && e.message) || e}`,
  );
}

// judged is scoped(f) whose verdict the next read awaits.
function judged(f) {
  verdicts.push(scoped(f));
}

// firstError awaits every verdict since the last call and returns the first
// error's text, or "".
async function firstError() {
  const vs = await Promise.all(verdicts.splice(0));
  const e = vs.find((v) => v !== "");
  if (e) return e;
  if (uncaptured.length) return "uncaptured error: " + uncaptured.splice(0).join("; ");
  return "";
}

function forget(id) {
  const ks = keysOf.get(id);
  if (ks) {
    for (const k of ks) groups.delete(k);
    keysOf.delete(id);
  }
}

function grow(n, cap) {
  while (cap < n) cap *= 2;
  return cap;
}

// compilationErrors is the text of the error messages of module m's
// compilation ("" when there are none or the browser cannot say).
async function compilationErrors(m) {
  try {
    const info = await m.getCompilationInfo();
    return info.messages
      .filter((x) => x.type === "error")
      .map((x) => `${x.lineNum}:${x.linePos}: ${x.message}`)
      .join("; ");
  } catch {
    return "";
  }
}

return {
  // ---- memory ----
  newBuffer(id, size, label) {
    judged(() => bufs.set(id, device.createBuffer({ size, usage: STORAGE, label })));
  },
  // newBufferChecked is newBuffer whose verdict is awaited at once: the
  // promise gives "" or the out-of-memory / validation message.
  newBufferChecked(id, size, label) {
    return scoped(() => bufs.set(id, device.createBuffer({ size, usage: STORAGE, label })));
  },
  freeBuffer(id) {
    const b = bufs.get(id);
    if (!b) return;
    bufs.delete(id);
    forget(id);
    b.destroy();
  },
  // cmdView, uniView and stageView return staging arrays of at least n bytes
  // (Go copies into them with js.CopyBytesToJS).
  cmdView(n) {
    if (cmdU8.length < n) {
      cmdBuf = new ArrayBuffer(grow(n, cmdU8.length));
      cmdU8 = new Uint8Array(cmdBuf);
      cmdU32 = new Uint32Array(cmdBuf);
    }
    return cmdU8;
  },
  uniView(n) {
    if (uniU8.length < n) uniU8 = new Uint8Array(grow(n, uniU8.length));
    return uniU8;
  },
  stageView(n) {
    if (stage.length < n) stage = new Uint8Array(grow(n, stage.length));
    return stage;
  },
  // write copies n bytes of the staging array into buffer id.
  write(id, n) {
    judged(() => device.queue.writeBuffer(bufs.get(id), 0, stage, 0, n));
  },
  // read copies n bytes at byte offset off of buffer id into the staging
  // array. Once every error scope since the last read has given its
  // verdict, the promise resolves to the staging array, or to the text of
  // the first error (a string), in which case nothing is read; it rejects
  // when the device is gone.
  async read(id, off, n) {
    judged(() => {
      if (!rb || rbSize < n) {
        if (rb) rb.destroy();
        rbSize = grow(n, Math.max(rbSize, 256));
        rb = device.createBuffer({ size: rbSize, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: "crema readback" });
      }
      const enc = device.createCommandEncoder({ label: "crema read" });
      enc.copyBufferToBuffer(bufs.get(id), off, rb, 0, n);
      device.queue.submit([enc.finish()]);
    });
    const err = await firstError();
    if (err) return err;
    await rb.mapAsync(GPUMapMode.READ, 0, n);
    if (stage.length < n) stage = new Uint8Array(grow(n, stage.length));
    stage.set(new Uint8Array(rb.getMappedRange(0, n)));
    rb.unmap();
    return stage;
  },
  // lost returns "" while the device is alive, else why it was lost.
  lost() {
    return lostReason;
  },

  // ---- pipelines ----
  // compiled returns how many pipelines have finished compiling (made or
  // failed), so that Go can tell slow progress from none.
  compiled() {
    return compiled;
  },
  // newPipelines creates every pipeline of list, each
  // [id, label, module, code, entry, spec, constants] (spec: one character
  // of BIND per binding number; constants "NAME=v,..." or ""), with
  // createComputePipelineAsync, in parallel. The promise resolves to "" or
  // the failures, one per line.
  async newPipelines(list) {
    const made = [];
    const setup = scoped(() => {
      for (const [id, label, module, code, entry, spec, constants] of list) {
        let m = modules.get(module);
        if (!m) {
          m = device.createShaderModule({ label: module, code });
          modules.set(module, m);
        }
        const entries = [];
        for (let i = 0; i < spec.length; i++) {
          const c = spec[i];
          if (c === BIND.NONE) continue;
          const type = BUFFER_TYPES[c];
          if (!type) throw new Error(`${label}: bad binding kind ${c}`);
          entries.push({ binding: i, visibility: GPUShaderStage.COMPUTE, buffer: { type } });
        }
        const layout = device.createBindGroupLayout({ label, entries });
        const compute = { module: m, entryPoint: entry };
        if (constants) {
          compute.constants = {};
          for (const kv of constants.split(",")) {
            const [k, v] = kv.split("=");
            compute.constants[k] = Number(v);
          }
        }
        made.push(
          device
            .createComputePipelineAsync({ label, layout: device.createPipelineLayout({ label, bindGroupLayouts: [layout] }), compute })
            .then(
              (pipeline) => {
                compiled++;
                pipes[id] = { pipeline, layout, spec };
                return "";
              },
              async (e) => {
                compiled++;
                const detail = await compilationErrors(m);
                return `${label}: ${(e && e.message) || e}${detail ? ` (${module} ${detail})` : ""}`;
              },
            ),
        );
      }
    });
    const res = await Promise.all([setup, ...made]);
    return res.filter((r) => r !== "").join("\n");
  },

  // ---- the command stream ----
  // run encodes nWords words of the command stream, after uploading nUni
  // bytes of uniforms into the ring, and submits them as one command
  // buffer, inside error scopes.
  run(nWords, nUni) {
    judged(() => encode(nWords, nUni));
  },
};

function encode(nWords, nUni) {
  if (nUni > 0) {
    if (!ubuf || ubuf.size < nUni) {
      if (ubuf) ubuf.destroy();
      ubuf = device.createBuffer({
        size: grow(nUni, ubuf ? ubuf.size : 1 << 16),
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        label: "crema uniforms",
      });
      groups.clear();
      keysOf.clear();
    }
    device.queue.writeBuffer(ubuf, 0, uniU8, 0, nUni);
  }
  if (groups.size > 16384) {
    groups.clear();
    keysOf.clear();
  }
  const w = cmdU32;
  const enc = device.createCommandEncoder({ label: "crema ops" });
  let pass = null;
  let last = -1;
  for (let i = 0; i < nWords; ) {
    const op = w[i];
    if (op === OP.DISPATCH) {
      const pid = w[i + 1], slot = w[i + 2], nb = w[i + 6];
      const p = pipes[pid];
      let key = pid + ":" + slot;
      for (let k = 0; k < nb; k++) key += "," + w[i + 7 + k];
      let g = groups.get(key);
      if (!g) {
        const entries = [];
        let k = 0;
        for (let b = 0; b < p.spec.length; b++) {
          const c = p.spec[b];
          if (c === BIND.NONE) continue;
          if (c === BIND.UNIFORM) {
            entries.push({ binding: b, resource: { buffer: ubuf, offset: slot * uniformSlot, size: uniformSlot } });
          } else {
            entries.push({ binding: b, resource: { buffer: bufs.get(w[i + 7 + k]) } });
            k++;
          }
        }
        g = device.createBindGroup({ layout: p.layout, entries });
        groups.set(key, g);
        for (let k = 0; k < nb; k++) {
          const id = w[i + 7 + k];
          let ks = keysOf.get(id);
          if (!ks) keysOf.set(id, (ks = []));
          ks.push(key);
        }
      }
      if (!pass) {
        pass = enc.beginComputePass();
        last = -1;
      }
      if (last !== pid) {
        pass.setPipeline(p.pipeline);
        last = pid;
      }
      pass.setBindGroup(0, g);
      pass.dispatchWorkgroups(w[i + 3], w[i + 4], w[i + 5]);
      i += 7 + nb;
    } else if (op === OP.COPY) {
      if (pass) pass.end(), (pass = null);
      enc.copyBufferToBuffer(bufs.get(w[i + 1]), w[i + 2], bufs.get(w[i + 3]), w[i + 4], w[i + 5]);
      i += 6;
    } else if (op === OP.CLEAR) {
      if (pass) pass.end(), (pass = null);
      enc.clearBuffer(bufs.get(w[i + 1]), 0, w[i + 2]);
      i += 3;
    } else {
      throw new Error("crema webgpu: bad command " + op + " at word " + i);
    }
  }
  if (pass) pass.end();
  device.queue.submit([enc.finish()]);
}
