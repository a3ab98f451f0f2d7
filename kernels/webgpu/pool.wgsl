// pool.wgsl — 2×2, stride-2 max or average pooling of x: [C, H, W] into
// [C, H/2, W/2] (odd last rows and columns dropped) and its backward pass.
//
// forward:  one thread per output element, grid-stride; max keeps the
//           element the scan below chooses, avg the window's mean.
//           Bindings: 0 uniform; 1 x; 3 out.
// backward: one thread per 2×2 window of the input, rounding up (the windows
//           are disjoint, so each dx element is written exactly once, with no
//           races): max pooling routes dy to the element the scan chooses
//           and 0 to the others; avg gives each dy/4; the partial windows of
//           a dropped odd last row or column get 0.
//           Bindings: 0 uniform; 1 x; 2 dy; 3 dx.
// The max scan (kernels.Backend's definition): keep the window's first
// element (row-major order) and replace it by every later element strictly
// greater than the one kept; so a NaN first element is kept (forward writes
// its bits) and a later NaN is skipped. WGSL lets an implementation assume
// that no float is NaN, so x, dy and out are bound as u32 words and NaN is
// recognised by its bits; floats are compared only when neither is NaN, and
// max pooling moves bits without converting them.
// Params, the struct of the uniform p, is generated from poolParams (pool.go)
// and appended to this file when the pipeline is created.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> dy: array<u32>;
@group(0) @binding(3) var<storage, read_write> outp: array<u32>;

fn isNaN(u: u32) -> bool {
  return (u & 0x7fffffffu) > 0x7f800000u;
}

// kept is the index (0..3) of the element max pooling keeps of the window
// (a, b, d, e) in row-major order.
fn kept(a: u32, b: u32, d: u32, e: u32) -> u32 {
  if (isNaN(a)) {
    return 0u;
  }
  var best = 0u;
  var v = bitcast<f32>(a);
  if (!isNaN(b) && bitcast<f32>(b) > v) {
    best = 1u;
    v = bitcast<f32>(b);
  }
  if (!isNaN(d) && bitcast<f32>(d) > v) {
    best = 2u;
    v = bitcast<f32>(d);
  }
  if (!isNaN(e) && bitcast<f32>(e) > v) {
    best = 3u;
  }
  return best;
}

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) {
    let ox = i % p.OW;
    let oy = (i / p.OW) % p.OH;
    let c = i / (p.OW * p.OH);
    let base = (c * p.H + 2u * oy) * p.W + 2u * ox;
    let a = x[base];
    let b = x[base + 1u];
    let d = x[base + p.W];
    let e = x[base + p.W + 1u];
    if (p.isMax != 0u) {
      let k = kept(a, b, d, e);
      outp[i] = select(select(select(a, b, k == 1u), d, k == 2u), e, k == 3u);
    } else {
      let s = (bitcast<f32>(a) + bitcast<f32>(b)) + (bitcast<f32>(d) + bitcast<f32>(e));
      outp[i] = bitcast<u32>(s * 0.25);
    }
  }
}

@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  let cw = (p.W + 1u) / 2u;
  let chh = (p.H + 1u) / 2u;
  for (var i = gid.x; i < p.n; i += stride) {
    let wx = i % cw;
    let wy = (i / cw) % chh;
    let c = i / (cw * chh);
    let base = (c * p.H + 2u * wy) * p.W + 2u * wx;
    if (wy >= p.OH || wx >= p.OW) {
      // A partial window of a dropped row or column.
      outp[base] = 0u;
      if (2u * wx + 1u < p.W) { outp[base + 1u] = 0u; }
      if (2u * wy + 1u < p.H) {
        outp[base + p.W] = 0u;
        if (2u * wx + 1u < p.W) { outp[base + p.W + 1u] = 0u; }
      }
      continue;
    }
    let g = dy[(c * p.OH + wy) * p.OW + wx];
    if (p.isMax == 0u) {
      let q = bitcast<u32>(bitcast<f32>(g) * 0.25);
      outp[base] = q;
      outp[base + 1u] = q;
      outp[base + p.W] = q;
      outp[base + p.W + 1u] = q;
      continue;
    }
    let best = kept(x[base], x[base + 1u], x[base + p.W], x[base + p.W + 1u]);
    outp[base] = select(0u, g, best == 0u);
    outp[base + 1u] = select(0u, g, best == 1u);
    outp[base + p.W] = select(0u, g, best == 2u);
    outp[base + p.W + 1u] = select(0u, g, best == 3u);
  }
}
