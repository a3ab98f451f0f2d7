// matmul.wgsl — dst = alpha·op(a)·op(b) + beta·dst, op(a): [m, k], op(b): [k, n]
// (a is [k, m] when transA, b is [n, k] when transB); Gram matrices use it
// with transB.
//
// Tiling: a workgroup of 16×16 threads computes a 64×64 tile of dst; the k
// loop steps by 16, staging a 16×64 tile of op(a) and of op(b) in workgroup
// memory (2 × 4 KiB, each [16 k][16 vec4 along m or n]); each thread
// accumulates a 4×4 register block.
// Workgroup stores: each of the 256 threads stores one whole vec4 of each
// tile — four rows (or columns) at one k — never components of a vec4
// another thread writes (WGSL lets a component store access the whole
// vector; Tint's HLSL does read-merge-write it). The loaders read along the
// contiguous axis of each operand: when it is k (a not transposed, b
// transposed: the Gram case), consecutive threads take consecutive k and
// read their four rows at it; when it is m or n, consecutive threads take
// consecutive groups of 4. The vec4 of group g at step k is stored at
// [k][g ^ k] (an XOR swizzle): the 8 threads of a 128-bit store phase then
// hit 8 different bank quads in both cases, and the compute loop reads
// [kk][ty ^ kk] and [kk][tx ^ kk].
// Grid: the ceil(n/64)·ceil(m/64) tiles, n-tile fastest, spread over
// numWorkgroups.x × .y (each ≤ 65535; surplus workgroups return at once).
// Split-K: when dst has few tiles and k is long (Gram matrices of large
// images), the host dispatches S = numWorkgroups.z slices of kc columns of k;
// each slice writes its raw sums to part[s, m, n] and finish adds the slices
// and applies alpha and beta. With S = 1, main applies them itself.
// Bindings: 0 uniform p; 1 a, 2 b (read-only); 3 dst (read-write);
// 4 part (read-write scratch [S, m, n], a dummy when S = 1).
// Dispatch: main (gx, gy, S) with gx·gy ≥ tiles; finish: grid-stride over m·n.
// Params, the struct of the uniform p, is generated from matmulParams (matmul.go)
// and appended to this file when the pipeline is created.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read_write> part: array<f32>;

var<workgroup> As: array<vec4<f32>, 256>; // [16 k][16 row groups, swizzled]
var<workgroup> Bs: array<vec4<f32>, 256>; // [16 k][16 column groups, swizzled]

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
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let tile = wg.y * nwg.x + wg.x;
  if (tile >= p.tiles) {
    return; // surplus workgroup of the folded grid (uniform: same for the whole workgroup)
  }
  let m0 = (tile / p.tilesN) * 64u;
  let n0 = (tile % p.tilesN) * 64u;
  let kBegin = wg.z * p.kc;
  let kEnd = min(p.k, kBegin + p.kc);
  let tx = t % 16u;
  let ty = t / 16u;
  // Loader slots: (q along k, g along m or n), the contiguous axis fastest.
  var qa = t % 16u;
  var ga = t / 16u;
  if (p.transA != 0u) {
    qa = t / 16u;
    ga = t % 16u;
  }
  var qb = t / 16u;
  var gb = t % 16u;
  if (p.transB != 0u) {
    qb = t % 16u;
    gb = t / 16u;
  }
  var acc: array<vec4<f32>, 4>;
  for (var k0 = kBegin; k0 < kEnd; k0 += 16u) {
    let i = m0 + ga * 4u;
    As[qa * 16u + (ga ^ qa)] = vec4<f32>(opA(i, k0 + qa, kEnd), opA(i + 1u, k0 + qa, kEnd),
                                         opA(i + 2u, k0 + qa, kEnd), opA(i + 3u, k0 + qa, kEnd));
    let j = n0 + gb * 4u;
    Bs[qb * 16u + (gb ^ qb)] = vec4<f32>(opB(k0 + qb, j, kEnd), opB(k0 + qb, j + 1u, kEnd),
                                         opB(k0 + qb, j + 2u, kEnd), opB(k0 + qb, j + 3u, kEnd));
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let av = As[kk * 16u + (ty ^ kk)];
      let bv = Bs[kk * 16u + (tx ^ kk)];
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
