// pool.wgsl — 2×2, stride-2 max or average pooling of x: [C, H, W] into
// [C, H/2, W/2] (odd last rows and columns dropped) and its backward pass.
//
// forward:  one thread per output element, grid-stride; max takes the
//           largest of the window, avg its mean.
//           Bindings: 0 uniform; 1 x; 3 out.
// backward: one thread per 2×2 window of the input, rounding up (the windows
//           are disjoint, so each dx element is written exactly once, with no
//           races): max pooling routes dy to the first largest element of
//           the window in row-major order (strict >, as the reference does)
//           and 0 to the others; avg gives each dy/4; the partial windows of
//           a dropped odd last row or column get 0.
//           Bindings: 0 uniform; 1 x; 2 dy; 3 dx.
// Params, the struct of the uniform p, is generated from poolParams (pool.go)
// and appended to this file when the pipeline is created.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> outp: array<f32>;

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
      var v = a;
      if (b > v) { v = b; }
      if (d > v) { v = d; }
      if (e > v) { v = e; }
      outp[i] = v;
    } else {
      outp[i] = ((a + b) + (d + e)) * 0.25;
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
      outp[base] = 0.0;
      if (2u * wx + 1u < p.W) { outp[base + 1u] = 0.0; }
      if (2u * wy + 1u < p.H) {
        outp[base + p.W] = 0.0;
        if (2u * wx + 1u < p.W) { outp[base + p.W + 1u] = 0.0; }
      }
      continue;
    }
    let g = dy[(c * p.OH + wy) * p.OW + wx];
    if (p.isMax == 0u) {
      let q = g * 0.25;
      outp[base] = q;
      outp[base + 1u] = q;
      outp[base + p.W] = q;
      outp[base + p.W + 1u] = q;
      continue;
    }
    let a = x[base];
    let b = x[base + 1u];
    let d = x[base + p.W];
    let e = x[base + p.W + 1u];
    var best = 0u;
    var v = a;
    if (b > v) { best = 1u; v = b; }
    if (d > v) { best = 2u; v = d; }
    if (e > v) { best = 3u; }
    outp[base] = select(0.0, g, best == 0u);
    outp[base + 1u] = select(0.0, g, best == 1u);
    outp[base + p.W] = select(0.0, g, best == 2u);
    outp[base + p.W + 1u] = select(0.0, g, best == 3u);
  }
}
