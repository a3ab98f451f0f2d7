// rows.wgsl — operations on the rows of a [rows, cols] matrix.
//
// rowsum:   dst[r] = alpha·Σ_c a[r, c]. One workgroup of 256 threads per row
//           (rows beyond 65535 go to the y dimension); each thread sums a
//           strided share of the row, then a tree in workgroup memory.
//           Bindings: 0 uniform; 1 a; 3 dst.
// scatter:  dst[r, idx[r, c]] = a[r, c]. One thread per element, grid-stride.
//           Bindings: 0 uniform; 1 a (src); 2 idx (float32 column indices); 3 dst.
// resample: dst[r, j] = a[r, tab[j]], tab being the nearest-quantile column
//           map computed on the host (exact integer arithmetic there). One
//           thread per element of dst, grid-stride.
//           Bindings: 0 uniform; 1 a (src: [rows, scols]); 2 tab [dcols]; 3 dst.
// Params, the struct of the uniform p, is generated from rowsParams (rows.go)
// and appended to this file when the pipeline is created.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

var<workgroup> sh: array<f32, 256>;

@compute @workgroup_size(256)
fn rowsum(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wg.y * nwg.x + wg.x;
  var s = 0.0;
  if (r < p.rows) {
    let base = r * p.cols;
    for (var c = t; c < p.cols; c += 256u) {
      s += a[base + c];
    }
  }
  sh[t] = s;
  workgroupBarrier();
  for (var off = 128u; off > 0u; off >>= 1u) {
    if (t < off) {
      sh[t] += sh[t + off];
    }
    workgroupBarrier();
  }
  if (t == 0u && r < p.rows) {
    dst[r] = p.alpha * sh[0];
  }
}

@compute @workgroup_size(256)
fn scatter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) {
    let r = i / p.cols;
    dst[r * p.cols + u32(idx[i])] = a[i];
  }
}

@compute @workgroup_size(256)
fn resample(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) {
    let r = i / p.dcols;
    let j = i - r * p.dcols;
    dst[i] = a[r * p.cols + u32(idx[j])];
  }
}
