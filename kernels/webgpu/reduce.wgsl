// reduce.wgsl — Sum, Dot and the total-variation loss as a two-stage tree
// reduction into one slot of a device tensor.
//
// Stage 1 (partial): G workgroups of 256 threads; each thread accumulates a
// grid-strided share of the n terms, the workgroup sums its 256 partial sums
// with a tree in workgroup memory and writes part[workgroup].
//   MODE_SUM: a[i]; MODE_DOT: a[i]·b[i]; MODE_TV: the TV terms of element i
//   of a: [C, H, W], (a[i+1]-a[i])² (if not the last column) + (a[i+W]-a[i])²
//   (if not the last row).
// Stage 2 (finish): one workgroup sums the G partials the same way and writes
// dst[index] = scale · total.
// Bindings: 0 uniform p; 1 a, 2 b (read-only; b = a where unused);
// 3 part (read-write scratch of G floats); 4 dst (read-write).
// Params (the uniform p) is generated from its Go declaration in reduce.go
// (reduceParams), and so are the constants MODE_* (reduceMode); they are
// appended to this file when the pipeline is created.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

var<workgroup> sh: array<f32, 256>;

fn term(i: u32) -> f32 {
  switch p.mode {
    case MODE_SUM: { return a[i]; }
    case MODE_DOT: { return a[i] * b[i]; }
    default: {
      let v = a[i];
      var s = 0.0;
      if (i % p.W + 1u < p.W) {
        let d = a[i + 1u] - v;
        s += d * d;
      }
      if ((i / p.W) % p.H + 1u < p.H) {
        let d = a[i + p.W] - v;
        s += d * d;
      }
      return s;
    }
  }
}

// treeSum sums sh[0..256) into sh[0].
fn treeSum(t: u32) {
  for (var off = 128u; off > 0u; off >>= 1u) {
    if (t < off) {
      sh[t] += sh[t + off];
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(256)
fn partial(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  var s = 0.0;
  let stride = nwg.x * 256u;
  for (var i = wg.x * 256u + t; i < p.n; i += stride) {
    s += term(i);
  }
  sh[t] = s;
  workgroupBarrier();
  treeSum(t);
  if (t == 0u) {
    part[wg.x] = sh[0];
  }
}

@compute @workgroup_size(256)
fn finish(@builtin(local_invocation_index) t: u32) {
  var s = 0.0;
  for (var i = t; i < p.G; i += 256u) {
    s += part[i];
  }
  sh[t] = s;
  workgroupBarrier();
  treeSum(t);
  if (t == 0u) {
    dst[p.index] = p.scale * sh[0];
  }
}
