// matmul.wgsl — dst = alpha·op(a)·op(b) + beta·dst, op(a): [m, k], op(b): [k, n]
// (a is [k, m] when transA, b is [n, k] when transB); Gram matrices use it
// with transB.
//
// Tiling: a workgroup of 16×16 threads computes a 64×64 tile of dst; the k
// loop steps by 16, staging a 64×16 tile of op(a) and a 16×64 tile of op(b)
// in workgroup memory (2 × 4 KiB, stored as vec4 along m and n); each thread
// accumulates a 4×4 register block. The loaders read along the contiguous
// axis of each operand (which depends on transA/transB), 4 floats per thread.
// Split-K: when dst has few tiles and k is long (Gram matrices of large
// images), the host dispatches S = numWorkgroups.z slices of kc columns of k;
// each slice writes its raw sums to part[s, m, n] and finish adds the slices
// and applies alpha and beta. With S = 1, main applies them itself.
// Bindings: 0 uniform p; 1 a, 2 b (read-only); 3 dst (read-write);
// 4 part (read-write scratch [S, m, n], a dummy when S = 1).
// Dispatch: main (ceil(n/64), ceil(m/64), S); finish: grid-stride over m·n.
// Params, the struct of the uniform p, is generated from matmulParams (matmul.go)
// and appended to this file when the pipeline is created.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read_write> part: array<f32>;

var<workgroup> As: array<vec4<f32>, 256>; // [16 k][64 rows as 16 vec4]
var<workgroup> Bs: array<vec4<f32>, 256>; // [16 k][64 cols as 16 vec4]

// opA is op(a)[i, q], 0 outside.
fn opA(i: u32, q: u32, kEnd: u32) -> f32 {
  if (i >= p.m || q >= kEnd) {
    return 0.0;
  }
  if (p.transA != 0u) {
    return a[q * p.m + i];
  }
  return a[i * p.k + q];
}

// opB is op(b)[q, j], 0 outside.
fn opB(q: u32, j: u32, kEnd: u32) -> f32 {
  if (j >= p.n || q >= kEnd) {
    return 0.0;
  }
  if (p.transB != 0u) {
    return b[j * p.k + q];
  }
  return b[q * p.n + j];
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let m0 = wg.y * 64u;
  let n0 = wg.x * 64u;
  let kBegin = wg.z * p.kc;
  let kEnd = min(p.k, kBegin + p.kc);
  let tx = t % 16u;
  let ty = t / 16u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = kBegin; k0 < kEnd; k0 += 16u) {
    // op(a) tile: along k when a is [m, k], along m when transA.
    if (p.transA == 0u) {
      let r = t / 4u;
      let q = (t % 4u) * 4u;
      for (var e = 0u; e < 4u; e++) {
        As[(q + e) * 16u + r / 4u][r % 4u] = opA(m0 + r, k0 + q + e, kEnd);
      }
    } else {
      let q = t / 16u;
      let r = (t % 16u) * 4u;
      As[q * 16u + r / 4u] = vec4<f32>(opA(m0 + r, k0 + q, kEnd), opA(m0 + r + 1u, k0 + q, kEnd),
                                       opA(m0 + r + 2u, k0 + q, kEnd), opA(m0 + r + 3u, k0 + q, kEnd));
    }
    // op(b) tile: along n when b is [k, n], along k when transB.
    if (p.transB == 0u) {
      let q = t / 16u;
      let c = (t % 16u) * 4u;
      Bs[q * 16u + c / 4u] = vec4<f32>(opB(k0 + q, n0 + c, kEnd), opB(k0 + q, n0 + c + 1u, kEnd),
                                       opB(k0 + q, n0 + c + 2u, kEnd), opB(k0 + q, n0 + c + 3u, kEnd));
    } else {
      let c = t / 4u;
      let q = (t % 4u) * 4u;
      for (var e = 0u; e < 4u; e++) {
        Bs[(q + e) * 16u + c / 4u][c % 4u] = opB(k0 + q + e, n0 + c, kEnd);
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let av = As[kk * 16u + ty];
      let bv = Bs[kk * 16u + tx];
      acc[0] += av.x * bv;
      acc[1] += av.y * bv;
      acc[2] += av.z * bv;
      acc[3] += av.w * bv;
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let i = m0 + ty * 4u + r;
    if (i >= p.m) {
      break;
    }
    for (var c = 0u; c < 4u; c++) {
      let j = n0 + tx * 4u + c;
      if (j < p.n) {
        let o = i * p.n + j;
        if (p.S > 1u) {
          part[wg.z * p.m * p.n + o] = acc[r][c];
        } else {
          var v = p.alpha * acc[r][c];
          if (p.beta != 0.0) {
            v += p.beta * dst[o];
          }
          dst[o] = v;
        }
      }
    }
  }
}

@compute @workgroup_size(256)
fn finish(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  let mn = p.m * p.n;
  for (var o = gid.x; o < mn; o += stride) {
    var s = 0.0;
    for (var z = 0u; z < p.S; z++) {
      s += part[z * mn + o];
    }
    var v = p.alpha * s;
    if (p.beta != 0.0) {
      v += p.beta * dst[o];
    }
    dst[o] = v;
  }
}
