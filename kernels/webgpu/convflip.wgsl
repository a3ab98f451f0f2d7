// convflip.wgsl — the weights of the input-gradient convolution:
// w'[i, o, ky, kx] = w[o, i, 2-ky, 2-kx], i.e. w: [Cout, Cin, 3, 3] flipped in
// space and with its two channel axes swapped, a [Cin, Cout·9] matrix for
// conv.wgsl's backward implicit GEMM. The host computes it once per weight
// tensor (and again only when the weights change).
//
// Tiling: one thread per element of w', 256 per workgroup, grid-stride.
// Bindings: 0 uniform p; 1 w (read-only); 2 wt = w' (read-write).
// Params, the struct of the uniform p, is generated from flipParams (conv.go)
// and appended to this file when the pipeline is created.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> wt: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  let k = p.Cout * 9u;
  for (var e = gid.x; e < p.n; e += stride) {
    let i = e / k;
    let r = e - i * k;
    let o = r / 9u;
    let s = r - o * 9u;
    wt[e] = w[(o * p.Cin + i) * 9u + (8u - s)];
  }
}
