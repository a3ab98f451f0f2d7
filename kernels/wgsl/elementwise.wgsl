// elementwise.wgsl — the vector ops of the Backend interface, one thread per
// element: Fill (op 0), Scale (1), Axpy (2), Mul (3), Div (4), Sqrt (5),
// AddRows (6), MulRows (7) and ReluMask (8: d = a·[b > 0], the ReLU
// derivative applied to a gradient a, for Conv3x3Backward).
//
// Tiling: 256 threads per workgroup, a grid-stride loop over the n elements
// (the host caps the dispatch at 65535 workgroups).
// Bindings: 0 uniform P; 1 d, the destination (read-write); 2 a and 3 b,
// read-only inputs (for AddRows/MulRows, a is the per-row vector v).
// Aliasing: WebGPU forbids binding one buffer as both read-only and
// read-write in a dispatch, so when an input is d itself the host binds a
// dummy buffer in its place and sets bit 0 (a is d) or bit 1 (b is d) of
// flags; the input is then read from d.

struct P {
  n: u32,
  op: u32,
  flags: u32,
  cols: u32,
  s0: f32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> d: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

fn inA(i: u32) -> f32 {
  if ((p.flags & 1u) != 0u) {
    return d[i];
  }
  return a[i];
}

fn inB(i: u32) -> f32 {
  if ((p.flags & 2u) != 0u) {
    return d[i];
  }
  return b[i];
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) {
    var v: f32;
    switch p.op {
      case 0u: { v = p.s0; }
      case 1u: { v = d[i] * p.s0; }
      case 2u: { v = d[i] + p.s0 * inA(i); }
      case 3u: { v = inA(i) * inB(i); }
      case 4u: { v = inA(i) / inB(i); }
      case 5u: { v = sqrt(inA(i) + p.s0); }
      case 6u: { v = d[i] + p.s0 * a[i / p.cols]; }
      case 7u: { v = d[i] * a[i / p.cols]; }
      case 8u: { v = select(0.0, inA(i), inB(i) > 0.0); }
      default: { v = d[i]; }
    }
    d[i] = v;
  }
}
