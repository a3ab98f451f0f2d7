// tv.wgsl — the gradient of the total-variation loss of x: [C, H, W],
// Σ (x[c,y,x+1]-x[c,y,x])² + Σ (x[c,y+1,x]-x[c,y,x])², times weight, added
// into dx. (The loss itself is reduce.wgsl's mode 2.)
//
// Tiling: one thread per element of x, 256 per workgroup, grid-stride loop;
// each thread gathers the up to four differences that involve its element,
// so there are no write races.
// Bindings: 0 uniform p; 1 x (read-only); 2 dx (read-write, accumulated).
// Params, the struct of the uniform p, is generated from tvParams (tv.go)
// and appended to this file when the pipeline is created.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  let w2 = 2.0 * p.weight;
  for (var i = gid.x; i < p.n; i += stride) {
    let xx = i % p.W;
    let y = (i / p.W) % p.H;
    let v = x[i];
    var s = 0.0;
    if (xx > 0u) { s += w2 * (v - x[i - 1u]); }
    if (xx + 1u < p.W) { s -= w2 * (x[i + 1u] - v); }
    if (y > 0u) { s += w2 * (v - x[i - p.W]); }
    if (y + 1u < p.H) { s -= w2 * (x[i + p.W] - v); }
    dx[i] = dx[i] + s;
  }
}
