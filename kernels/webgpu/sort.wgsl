// sort.wgsl — SortRows: a bitonic sort of each row of a [rows, cols] matrix,
// carrying the source column of every element.
//
// Each row is padded to P = next power of two ≥ cols with keys of the
// largest finite float (WGSL lets an implementation assume no infinities)
// whose indices are ≥ cols, in scratch buffers keys [rows, P] and ids
// [rows, P]. Elements compare as (key, id) pairs, so equal keys keep their
// source order (a stable sort, as the reference's; −0 and +0 compare equal,
// and so may subnormals, which WGSL lets an implementation flush to zero)
// and padding sorts after real keys equal to it; and a padding element
// (id ≥ cols) sorts after every real one whatever the keys, so that no
// input can pull padding into the first cols places (an infinity, or a NaN,
// which compares unpredictably: a row holding NaN comes back in an
// unspecified order, but every compare-exchange swaps whole (key, id) pairs,
// so it is still a permutation with dst[c] = src[ids[c]]).
// Passes (the host issues them in order):
//   sort_init:   keys/ids from src (one thread per padded element, grid-stride).
//   sort_local:  one workgroup per chunk of L = min(P, 2048) elements (grid-stride
//           over chunks) loads the chunk into workgroup memory (2048 × 8 B =
//           16 KiB), runs the compare-exchange steps k = k0…k1 (doubling),
//           j = min(k/2, L/2)…1 (halving) there, 256 threads each owning
//           L/512 pairs per step, and stores it back. With k0 = 2, k1 = L it
//           sorts whole chunks; with k0 = k1 = k > L it finishes merge step k
//           once the global steps have handled the strides ≥ L.
//   sort_global: one compare-exchange step (k, j) with j ≥ L over all rows, one
//           thread per pair, grid-stride.
//   sort_final:  dst[r, c] = keys[r, c], idx[r, c] = float(ids[r, c]) for c < cols.
// Direction: an element at in-row position e sorts ascending when e & k == 0.
// Bindings: 0 uniform p; 1 keys (read-write); 2 ids (read-write); 3 src
// (read-only, init); 4 dst and 5 idx (read-write, final). dst may be src:
// src is only read in init and dst only written in final.
// Params, the struct of the uniform p, is generated from sortParams (sort.go)
// and appended to this file when the pipeline is created.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> keys: array<f32>;
@group(0) @binding(2) var<storage, read_write> ids: array<u32>;
@group(0) @binding(3) var<storage, read> src: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
@group(0) @binding(5) var<storage, read_write> idx: array<f32>;

var<workgroup> sk: array<f32, 2048>;
var<workgroup> si: array<u32, 2048>;

// PAD is the key of padding elements: the largest finite f32.
const PAD: f32 = 0x1.fffffep+127f;

// before reports whether (ka, ia) sorts before (kb, ib): padding (id ≥ cols)
// last, in id order; real elements by key, then id.
fn before(ka: f32, ia: u32, kb: f32, ib: u32) -> bool {
  let pa = ia >= p.cols;
  let pb = ib >= p.cols;
  if (pa || pb) {
    return pb && (!pa || ia < ib);
  }
  return ka < kb || (ka == kb && ia < ib);
}

@compute @workgroup_size(256)
fn sort_init(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) {
    let r = i / p.P;
    let c = i - r * p.P;
    if (c < p.cols) {
      keys[i] = src[r * p.cols + c];
    } else {
      keys[i] = PAD;
    }
    ids[i] = c;
  }
}

@compute @workgroup_size(256)
fn sort_local(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>,
         @builtin(num_workgroups) nwg: vec3<u32>) {
  let chunks = p.n / p.L;
  let halfL = p.L / 2u;
  for (var ch = wg.x; ch < chunks; ch += nwg.x) {
    let base = ch * p.L;
    for (var e = t; e < p.L; e += 256u) {
      sk[e] = keys[base + e];
      si[e] = ids[base + e];
    }
    workgroupBarrier();
    let rowBase = base % p.P; // in-row position of the chunk's first element
    for (var k = p.k0; k <= p.k1; k <<= 1u) {
      for (var j = min(k >> 1u, halfL); j > 0u; j >>= 1u) {
        for (var q = t; q < halfL; q += 256u) {
          let a = 2u * j * (q / j) + (q % j);
          let b = a + j;
          let up = ((rowBase + a) & k) == 0u;
          let ka = sk[a];
          let kb = sk[b];
          let ia = si[a];
          let ib = si[b];
          if (before(kb, ib, ka, ia) == up) {
            sk[a] = kb;
            sk[b] = ka;
            si[a] = ib;
            si[b] = ia;
          }
        }
        workgroupBarrier();
      }
    }
    for (var e = t; e < p.L; e += 256u) {
      keys[base + e] = sk[e];
      ids[base + e] = si[e];
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(256)
fn sort_global(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  let halfP = p.P / 2u;
  let j = p.j;
  let k = p.k0;
  for (var q = gid.x; q < p.n / 2u; q += stride) {
    let r = q / halfP;
    let qq = q - r * halfP;
    let a = 2u * j * (qq / j) + (qq % j);
    let up = (a & k) == 0u;
    let ia = r * p.P + a;
    let ib = ia + j;
    let ka = keys[ia];
    let kb = keys[ib];
    let xa = ids[ia];
    let xb = ids[ib];
    if (before(kb, xb, ka, xa) == up) {
      keys[ia] = kb;
      keys[ib] = ka;
      ids[ia] = xb;
      ids[ib] = xa;
    }
  }
}

@compute @workgroup_size(256)
fn sort_final(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  let n = p.rows * p.cols;
  for (var i = gid.x; i < n; i += stride) {
    let r = i / p.cols;
    let c = i - r * p.cols;
    dst[i] = keys[r * p.P + c];
    idx[i] = f32(ids[r * p.P + c]);
  }
}
