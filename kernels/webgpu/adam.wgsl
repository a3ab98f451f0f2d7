// adam.wgsl — one bias-corrected Adam step (Kingma & Ba) over n parameters:
//   m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;  x -= lr·(m/c1) / (sqrt(v/c2) + ε)
// with c1 = 1-β1^t and c2 = 1-β2^t computed on the host in float64.
//
// Tiling: one thread per parameter, 256 per workgroup, grid-stride loop.
// Bindings: 0 uniform p; 1 x (read-write); 2 g (read-only); 3 m and 4 v
// (read-write moment estimates).
// Params, the struct of the uniform p, is generated from adamParams (adam.go)
// and appended to this file when the pipeline is created.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) {
    let gi = g[i];
    let mi = p.beta1 * m[i] + (1.0 - p.beta1) * gi;
    let vi = p.beta2 * v[i] + (1.0 - p.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    x[i] = x[i] - p.lr * (mi / p.c1) / (sqrt(vi / p.c2) + p.eps);
  }
}
