// dots.wgsl — Dots: many dot products Σ a_j ⊙ b_j of vectors of n elements
// into consecutive slots of a device tensor, in two stages.
//
// partial: one dispatch per batch of up to 8 pairs whose vectors are among
//   the 6 bound v0..v5 (the host groups the pairs so: L-BFGS's six dots with
//   one stored pair (s_j, y_j) and the new sNew, yNew, g read five vectors
//   once instead of twelve). G workgroups of 256 threads (grid-stride);
//   each thread loads element i of each of the nv bound vectors once and
//   accumulates every pair's product in registers; the workgroup then sums
//   its 256 partial sums of each pair with a tree in workgroup memory
//   (8 × 1 KiB) and writes part[(base + q)·G + workgroup] for pair q.
//   Pair q multiplies v[(ia >> 4q) & 15] by v[(ib >> 4q) & 15].
// finish: one workgroup per pair of the whole call (every batch; pairs base,
//   base+1, ... when there are more than 65535) sums that pair's G partials
//   the same way and writes dst[index + pair].
// Bindings: 0 uniform p; 1..6 v0..v5 (read-only; those past nv repeat v0);
//   7 part (read-write scratch of pairs·G floats); 8 dst (read-write).
// Dispatch: partial (G, 1, 1) per batch; finish (pairs, 1, 1) once (in
// chunks of 65535).
// Params, the struct of the uniform p, is generated from dotsParams
// (reduce.go) and appended to this file when the pipeline is created.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> v0: array<f32>;
@group(0) @binding(2) var<storage, read> v1: array<f32>;
@group(0) @binding(3) var<storage, read> v2: array<f32>;
@group(0) @binding(4) var<storage, read> v3: array<f32>;
@group(0) @binding(5) var<storage, read> v4: array<f32>;
@group(0) @binding(6) var<storage, read> v5: array<f32>;
@group(0) @binding(7) var<storage, read_write> part: array<f32>;
@group(0) @binding(8) var<storage, read_write> dst: array<f32>;

var<workgroup> sh: array<f32, 2048>; // [8 pairs][256 threads]

@compute @workgroup_size(256)
fn partial(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  var acc: array<f32, 8>;
  let stride = nwg.x * 256u;
  for (var i = wg.x * 256u + t; i < p.n; i += stride) {
    var v: array<f32, 6>;
    v[0] = v0[i];
    if (p.nv > 1u) { v[1] = v1[i]; }
    if (p.nv > 2u) { v[2] = v2[i]; }
    if (p.nv > 3u) { v[3] = v3[i]; }
    if (p.nv > 4u) { v[4] = v4[i]; }
    if (p.nv > 5u) { v[5] = v5[i]; }
    for (var q = 0u; q < 8u; q++) {
      if (q < p.np) {
        acc[q] += v[(p.ia >> (4u * q)) & 15u] * v[(p.ib >> (4u * q)) & 15u];
      }
    }
  }
  for (var q = 0u; q < 8u; q++) {
    sh[q * 256u + t] = acc[q];
  }
  workgroupBarrier();
  for (var off = 128u; off > 0u; off >>= 1u) {
    if (t < off) {
      for (var q = 0u; q < p.np; q++) {
        sh[q * 256u + t] += sh[q * 256u + t + off];
      }
    }
    workgroupBarrier();
  }
  if (t < p.np) {
    part[(p.base + t) * p.G + wg.x] = sh[t * 256u];
  }
}

@compute @workgroup_size(256)
fn finish(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let q = p.base + wg.x;
  var s = 0.0;
  for (var i = t; i < p.G; i += 256u) {
    s += part[q * p.G + i];
  }
  sh[t] = s;
  workgroupBarrier();
  for (var off = 128u; off > 0u; off >>= 1u) {
    if (t < off) {
      sh[t] += sh[t + off];
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    dst[p.index + q] = sh[0];
  }
}
