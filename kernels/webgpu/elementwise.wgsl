// elementwise.wgsl — the vector ops of the Backend interface, one thread per
// element, chosen by p.op: Fill (OP_FILL), Scale (OP_SCALE), Axpy (OP_AXPY),
// Mul (OP_MUL), Div (OP_DIV), Sqrt (OP_SQRT), AddRows (OP_ADD_ROWS), MulRows
// (OP_MUL_ROWS) and ReluMask (OP_RELU_MASK: d = a·[b > 0], the ReLU
// derivative applied to a gradient a, for Conv3x3Backward).
//
// Tiling: 256 threads per workgroup, a grid-stride loop over the n elements
// (the host caps the dispatch at 65535 workgroups).
// Bindings: 0 uniform p; 1 d, the destination (read-write); 2 a and 3 b,
// read-only inputs (for AddRows/MulRows, a is the per-row vector v).
// Aliasing: WebGPU forbids binding one buffer as both read-only and
// read-write in a dispatch, so when an input is d itself the host binds a
// dummy buffer in its place and sets the bit A_IS_D or B_IS_D of flags; the
// input is then read from d.
// Params (the uniform p) is generated from its Go declaration in
// elementwise.go (elementwiseParams), and so are the constants OP_* (elemOp)
// and A_IS_D, B_IS_D; they are appended to this file when the pipeline is
// created.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> d: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

fn inA(i: u32) -> f32 {
  if ((p.flags & A_IS_D) != 0u) {
    return d[i];
  }
  return a[i];
}

fn inB(i: u32) -> f32 {
  if ((p.flags & B_IS_D) != 0u) {
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
      case OP_FILL: { v = p.s0; }
      case OP_SCALE: { v = d[i] * p.s0; }
      case OP_AXPY: { v = d[i] + p.s0 * inA(i); }
      case OP_MUL: { v = inA(i) * inB(i); }
      case OP_DIV: { v = inA(i) / inB(i); }
      case OP_SQRT: { v = sqrt(inA(i) + p.s0); }
      case OP_ADD_ROWS: { v = d[i] + p.s0 * a[i / p.cols]; }
      case OP_MUL_ROWS: { v = d[i] * a[i / p.cols]; }
      case OP_RELU_MASK: { v = select(0.0, inA(i), inB(i) > 0.0); }
      default: { v = d[i]; }
    }
    d[i] = v;
  }
}
