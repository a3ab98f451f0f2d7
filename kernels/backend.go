// Package kernels is crema's compute interface: the tensors and operations
// that the VGG-19 network (package model), the style losses and the
// optimisers run on. It owns only what every backend shares:
//
//   - the Backend and Tensor interfaces;
//   - the shapes operations take (ConvShape, PoolShape, Pooling, AdamParams);
//   - ErrDeviceLost, the error a GPU backend wraps once its device is gone;
//   - Checked, the one place where every operation's tensor lengths are
//     validated against its shape arguments.
//
// The implementations live in subpackages, one per backend, as Ebitengine
// splits its graphics drivers:
//
//   - kernels/naive: plain loops, one obvious line per formula. It is the
//     test oracle every other backend is compared against.
//   - kernels/cpu: pure Go, blocked GEMM convolutions on all cores
//     (goroutines natively, one thread under WebAssembly).
//   - kernels/webgpu (GOOS=js only): WGSL compute shaders driven through
//     syscall/js.
//   - kernels/pool: the CPU backend with its convolutions split over helper
//     workers (in the browser, Web Workers running the same program).
//
// kernels/backends chooses one by name ("auto", "cpu", "webgpu", "naive")
// and wraps it in Checked; kernels/kerneltest is the conformance table and
// the test helpers every backend's tests share.
//
// # Layout and conventions
//
// A Tensor is a flat float32 buffer owned by the backend that made it; its
// shape is given to each operation, never stored. Activations are CHW (one
// image, channel-major: element (c, y, x) at c*H*W + y*W + x). Matrices are
// row-major. Conv weights are OIHW: element (o, i, ky, kx) at
// ((o*Cin+i)*3+ky)*3+kx, i.e. a [Cout, Cin*9] matrix for the implicit GEMM.
//
// Operations are asynchronous in spirit: a GPU backend only records them.
// Nothing comes back to the host except through Read, so model code never
// reads back per operation. Reductions (Dot, Sum) write their scalar into a
// slot of a device tensor; the caller reads a batch of such slots at once.
//
// Operations write dst first, then take inputs. Unless an operation says it
// accumulates, it overwrites dst entirely. dst never aliases an input unless
// the operation says it may.
package kernels

// Tensor is a float32 buffer on a backend's device. Only the backend that
// allocated a tensor may use it.
type Tensor interface {
	// Len is the number of float32 elements.
	Len() int
}

// Backend is the set of operations crema needs. Implementations trust their
// arguments: they do not compare tensor lengths with the shapes they are
// given. Checked adds those checks (a mismatch is a programming error, not
// user input, and panics); backends.Open returns checked backends. Read
// reports failures of the device itself as errors.
type Backend interface {
	// Name is "naive", "cpu" or "webgpu".
	Name() string
	// Describe is a human line about the device: the adapter name, or the
	// number of CPU workers.
	Describe() string

	// ---- memory ----

	// Alloc returns a zeroed tensor of n elements, or an error when the
	// device cannot hold it (the message says how much was asked).
	Alloc(n int) (Tensor, error)
	// Free releases t; t must not be used again. Freeing nil is a no-op.
	Free(t Tensor)
	// Write copies src (len == dst.Len()) from the host into dst.
	Write(dst Tensor, src []float32)
	// Read waits for all queued work and copies src into dst (len == src.Len()).
	Read(dst []float32, src Tensor) error
	// ReadAt is Read of src[off : off+len(dst)]: a few scalars without
	// copying the whole tensor.
	ReadAt(dst []float32, src Tensor, off int) error
	// Copy sets dst = src (same length).
	Copy(dst, src Tensor)

	// ---- VGG layers ----

	// Conv3x3 sets dst = ReLU(conv3x3(x, w) + b).
	// dst: [Cout, H, W]; x: [Cin, H, W]; w: [Cout, Cin, 3, 3]; b: [Cout].
	Conv3x3(dst, x, w, b Tensor, s ConvShape)
	// Conv3x3Backward sets dx to the gradient with respect to the conv input x,
	// given dy, the gradient with respect to the post-ReLU output y:
	// dx = conv3x3ᵀ(dy ⊙ [y > 0], w). dy is not modified.
	// dx: [Cin, H, W]; dy, y: [Cout, H, W]; w: [Cout, Cin, 3, 3].
	Conv3x3Backward(dx, dy, y, w Tensor, s ConvShape)
	// Pool2x2 sets dst: [C, H/2, W/2] to the pooling of x: [C, H, W]. Max
	// pooling scans each window in row-major order, keeping its first
	// element and replacing it by every later element strictly greater than
	// the one kept. So NaN is kept only as a window's first element (the
	// result is that NaN, bit for bit), and a NaN elsewhere is skipped;
	// windows without NaN give their largest element. Average pooling of a
	// window holding NaN is unspecified (a GPU may assume no NaN in
	// arithmetic).
	Pool2x2(dst, x Tensor, s PoolShape, p Pooling)
	// Pool2x2Backward sets dx: [C, H, W] to the gradient with respect to the
	// pooling input x, given dy: [C, H/2, W/2]. Max pooling routes each
	// gradient to the element Pool2x2 kept — the first largest of its window
	// in row-major order, with NaN as Pool2x2 treats it — and 0 to the
	// others; dropped odd rows and columns get zero.
	Pool2x2Backward(dx, dy, x Tensor, s PoolShape, p Pooling)

	// ---- linear algebra ----

	// MatMul sets dst = alpha·op(a)·op(b) + beta·dst, where op(a) is [m, k]
	// (a is [k, m] when transA) and op(b) is [k, n] (b is [n, k] when transB);
	// dst: [m, n]. With beta == 0 dst's old contents are ignored (NaN included).
	// Gram matrices are MatMul(g, a, a, C, C, HW, false, true, 1, 0).
	MatMul(dst, a, b Tensor, m, n, k int, transA, transB bool, alpha, beta float32)

	// ---- elementwise (all tensors the same length unless said) ----

	// Fill sets every element of dst to v.
	Fill(dst Tensor, v float32)
	// Scale sets dst *= alpha.
	Scale(dst Tensor, alpha float32)
	// Axpy sets dst += alpha·x.
	Axpy(dst Tensor, alpha float32, x Tensor)
	// Mul sets dst = a ⊙ b (dst may alias a or b).
	Mul(dst, a, b Tensor)
	// Div sets dst = a / b elementwise (dst may alias a or b).
	Div(dst, a, b Tensor)
	// Sqrt sets dst = sqrt(a + eps) elementwise (dst may alias a).
	Sqrt(dst, a Tensor, eps float32)

	// ---- rows of a [rows, cols] matrix ----

	// RowSum sets dst[r] = alpha·Σ_c a[r, c]. dst: [rows]; a: [rows, cols].
	RowSum(dst, a Tensor, rows, cols int, alpha float32)
	// AddRows sets dst[r, c] += alpha·v[r]. dst: [rows, cols]; v: [rows].
	AddRows(dst, v Tensor, rows, cols int, alpha float32)
	// MulRows sets dst[r, c] *= v[r]. dst: [rows, cols]; v: [rows].
	MulRows(dst, v Tensor, rows, cols int)
	// SortRows sorts each row of src ascending into dst and writes into idx
	// the source column of each sorted element (as float32, exact below 2^24).
	// Equal values keep their source order (−0 and +0 are equal; a GPU may
	// also take subnormal values for zero, as WGSL allows). A row
	// holding NaN comes back in an unspecified order, but idx is still a
	// permutation of the row's columns and dst[r, c] = src[r, idx[r, c]].
	// dst, idx, src: [rows, cols]; dst may alias src.
	SortRows(dst, idx, src Tensor, rows, cols int)
	// ScatterRows sets dst[r, idx[r, c]] = src[r, c]: the inverse of the
	// permutation SortRows wrote. dst, idx, src: [rows, cols].
	ScatterRows(dst, idx, src Tensor, rows, cols int)
	// ResampleRows sets dst: [rows, dcols] to src: [rows, scols] resampled
	// along each row by nearest quantile: dst[r, j] = src[r, floor((j+0.5)·scols/dcols)].
	// It matches sorted projections of images of different sizes.
	ResampleRows(dst, src Tensor, rows, scols, dcols int)

	// ---- reductions into a device scalar ----

	// Dot sets dst[i] = Σ a ⊙ b (accumulated in at least float32 with
	// pairwise or blocked summation).
	Dot(dst Tensor, i int, a, b Tensor)
	// Dots sets dst[i+j] = Σ a[j] ⊙ b[j] for every j, as Dot does pair by
	// pair: many dot products in one call (L-BFGS takes ~66 per
	// iteration), which a GPU computes in a few dispatches that read each
	// distinct tensor once. len(a) == len(b) ≥ 0; every a[j] and b[j] has
	// a[0]'s length; a tensor may appear in any number of pairs.
	Dots(dst Tensor, i int, a, b []Tensor)
	// Sum sets dst[i] = Σ a.
	Sum(dst Tensor, i int, a Tensor)

	// ---- image losses and optimiser steps ----

	// TV adds the total-variation loss of x: [C, H, W],
	// Σ (x[c,y,x+1]-x[c,y,x])² + Σ (x[c,y+1,x]-x[c,y,x])², times weight, into
	// loss[i] (dst[i] = weight·TV, overwritten), and adds weight·∂TV/∂x into dx.
	TV(loss Tensor, i int, dx, x Tensor, c, h, w int, weight float32)
	// Adam takes one Adam step on x with gradient g, updating the moment
	// estimates m and v in place. All four tensors have the same length.
	Adam(x, g, m, v Tensor, p AdamParams)
}
