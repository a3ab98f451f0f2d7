// conv.wgsl — the 3×3, stride-1, zero-padded convolution of one CHW image as
// an implicit GEMM (no im2col buffer): out[M, N] = A[M, K]·B[K, N] with
// N = H·W pixels and K = C·9, where
//   B[k = (c, ky, kx), n = (y, x)] = in[c, y+ky-1, x+kx-1]   (0 outside)
// is gathered from the input while its tile is loaded.
//   forward  (BACKWARD = false): A = w [Cout, Cin·9] (OIHW as is), in = x,
//            C = Cin, M = Cout; out = ReLU(A·B + bias[m]).
//   backward (BACKWARD = true): A = w' [Cin, Cout·9], the flipped and
//            transposed weights (convflip.wgsl), in = dy·[y > 0] (the
//            ReLU's derivative, applied beforehand by elementwise.wgsl's
//            ReluMask so that the gather reads one buffer), C = Cout,
//            M = Cin; out = dx = A·B.
// Tiling: a workgroup of TM·TN/16 threads computes a TM×TN tile of out (TM
// rows of M × TN pixels); the K loop steps by BK, staging a BK×TM tile of A
// and a BK×TN tile of B in workgroup memory (BK·(TM + TN)·4 B, both stored
// [k][vec4 along M or N]); each thread accumulates a 4×4 register block (4
// rows of M × 4 consecutive pixels). TM, TN and BK are override constants
// chosen by the host per shape: 64×64 (256 threads, 16 KiB at BK = 32) in
// general, thinner tiles where M or N is small (64×16 or 64×4 for the few
// pixels of deep layers of small images, 4×64 or 8×64 for conv1_1's input
// gradient, M = 3), so that threads are not spent on padding. TM and TN are
// powers of two from 4 to 64 (the swizzle below needs TM/4 a power of two),
// TM·TN ≤ 4096, and BK·(TM + TN)·4 fits in workgroup memory.
// Workgroup stores: every invocation writes whole vec4s, never components of
// a vec4 another invocation writes (WGSL lets a component store access the
// whole vector, and Tint's HLSL does read-merge-write it). The A loader
// gives each invocation one (k, 4-row group) slot: it reads A[m..m+3, k]
// (consecutive invocations take consecutive k, so the four reads are
// coalesced along A's rows) and stores the vec4 at
//   As[k·RM + (g ^ (k mod RM))],   RM = TM/4, g = the row group,
// an XOR swizzle under which the 8 invocations of a 128-bit store phase hit
// 8 different bank quads (TM ≥ 32; 2-way at TM = 16, none to spare below);
// the compute loop reads As[kk·RM + (ty ^ (kk mod RM))], one row group per
// invocation, broadcast within a SIMD group. The B loader gives each
// invocation its own 4 output pixels at rows ty, ty + RM, ... of the step
// (their coordinates computed once, outside the K loop), stored at
// Bs[k·RN + tx]: consecutive invocations, consecutive vec4s.
// Grid: the ceil(N/TN)·ceil(M/TM) tiles are numbered n-tile fastest and
// spread over numWorkgroups.x × .y (the host keeps both ≤ 65535, the
// per-dimension limit; surplus workgroups of the last row return at once).
// Split-K: when out has few tiles (deep layers of small images, on GPUs
// whose parallelism they would not fill), the host dispatches
// S = numWorkgroups.z slices of kc (a multiple of BK) taps each; every slice
// writes its raw sums to part[s, M, N], and finish adds the S slices (and,
// forward, the bias and the ReLU). With S = 1, main writes out.
// Bindings: 0 uniform p; 1 in (x or dy); 2 A [M, K]; 3 aux (bias [M]
// forward; unused backward); 4 out [M, H, W]; 5 part (scratch [S, M, N], a
// dummy when S = 1).
// Dispatch: main (gx, gy, S) with gx·gy ≥ tiles; finish: grid-stride over M·N.
// Params, the struct of the uniform p, is generated from convParams (conv.go)
// and appended to this file when the pipeline is created.

override BACKWARD: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> aux: array<f32>;
@group(0) @binding(4) var<storage, read_write> outp: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;

// BK is the k-depth of one tile step; TM × TN is the tile (the host's
// choice, see the header).
override BK: u32 = 32u;
override TM: u32 = 64u;
override TN: u32 = 64u;

var<workgroup> As: array<vec4<f32>, BK * TM / 4u>; // [BK k][TM/4 row groups, swizzled]
var<workgroup> Bs: array<vec4<f32>, BK * TN / 4u>; // [BK k][TN/4 pixel groups]

// tap is B[k, pixel] for the tap k = (c, ky, kx) (0 from kEnd on) at a pixel
// given by its row and column (px < 0 marks a pixel past N).
fn tap(k: u32, kEnd: u32, py: i32, px: i32) -> f32 {
  if (k >= kEnd || px < 0) {
    return 0.0;
  }
  let c = k / 9u;
  let r = k - c * 9u;
  let ky = r / 3u;
  let iy = py + i32(ky) - 1;
  let ix = px + i32(r - ky * 3u) - 1;
  if (iy < 0 || ix < 0 || iy >= i32(p.H) || ix >= i32(p.W)) {
    return 0.0;
  }
  let at = c * p.N + u32(iy) * p.W + u32(ix);
  return inp[at];
}

// weight is A[m, k], 0 outside [M, kEnd).
fn weight(m: u32, k: u32, kEnd: u32) -> f32 {
  if (m >= p.M || k >= kEnd) {
    return 0.0;
  }
  return A[m * p.K + k];
}

@compute @workgroup_size(TM * TN / 16u)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let tile = wg.y * nwg.x + wg.x;
  if (tile >= p.tiles) {
    return; // surplus workgroup of the folded grid (uniform: same for the whole workgroup)
  }
  let RM = TM / 4u; // threads along M
  let RN = TN / 4u; // threads along N
  let NT = RM * RN; // threads
  let m0 = (tile / p.tilesN) * TM;
  let n0 = (tile % p.tilesN) * TN;
  let tx = t % RN;
  let ty = t / RN;
  // B loader: k ty, ty+RM, ... of the step, pixels n0+4·tx..n0+4·tx+3 (the
  // thread's own output pixels), whose coordinates are fixed for the whole K
  // loop.
  var py: array<i32, 4>;
  var px: array<i32, 4>;
  for (var e = 0u; e < 4u; e++) {
    let n = n0 + tx * 4u + e;
    py[e] = i32(n / p.W);
    px[e] = i32(n % p.W);
    if (n >= p.N) {
      px[e] = -1;
    }
  }
  let kBegin = wg.z * p.kc;
  let kEnd = min(p.K, kBegin + p.kc);
  var acc: array<vec4<f32>, 4>;
  for (var k0 = kBegin; k0 < kEnd; k0 += BK) {
    // A loader: slot i = (row group g, tap kq), kq fastest.
    for (var i = t; i < BK * RM; i += NT) {
      let kq = i % BK;
      let g = i / BK;
      let m = m0 + g * 4u;
      let k = k0 + kq;
      As[kq * RM + (g ^ (kq & (RM - 1u)))] = vec4<f32>(weight(m, k, kEnd), weight(m + 1u, k, kEnd),
                                                        weight(m + 2u, k, kEnd), weight(m + 3u, k, kEnd));
    }
    for (var kk = ty; kk < BK; kk += RM) {
      let k = k0 + kk;
      Bs[kk * RN + tx] = vec4<f32>(tap(k, kEnd, py[0], px[0]), tap(k, kEnd, py[1], px[1]),
                                   tap(k, kEnd, py[2], px[2]), tap(k, kEnd, py[3], px[3]));
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a = As[kk * RM + (ty ^ (kk & (RM - 1u)))];
      let b = Bs[kk * RN + tx];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let m = m0 + ty * 4u + r;
    if (m >= p.M) {
      break;
    }
    var v = acc[r];
    if (p.S > 1u) {
      let base = (wg.z * p.M + m) * p.N;
      for (var e = 0u; e < 4u; e++) {
        let n = n0 + tx * 4u + e;
        if (n < p.N) {
          part[base + n] = v[e];
        }
      }
      continue;
    }
    if (!BACKWARD) {
      v = max(v + vec4<f32>(aux[m]), vec4<f32>(0.0));
    }
    for (var e = 0u; e < 4u; e++) {
      let n = n0 + tx * 4u + e;
      if (n < p.N) {
        outp[m * p.N + n] = v[e];
      }
    }
  }
}

@compute @workgroup_size(256)
fn finish(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  let mn = p.M * p.N;
  for (var o = gid.x; o < mn; o += stride) {
    var v = 0.0;
    for (var z = 0u; z < p.S; z++) {
      v += part[z * mn + o];
    }
    if (!BACKWARD) {
      v = max(v + aux[o / p.N], 0.0);
    }
    outp[o] = v;
  }
}
