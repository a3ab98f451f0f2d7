// Package style holds the losses of Gatys-style transfer, computed on a
// kernels.Backend so that activations, statistics and gradients stay on the
// device: the content loss, and the style loss of one layer built from a
// statistic (gram, cov, meanstd, mmd) and a cost (mse, swd).
//
// Every loss has a Forward(loss, slot, dA, A, weight) that writes its
// unweighted value J into the device scalar loss[slot] and adds weight·∂J/∂A
// into dA, so that the transfer loop can sum several losses at one layer and
// read all the scalars back with one ReadAt.
//
// # Definitions
//
// A layer's activations A (post-ReLU) are a C × N matrix, N = H·W. Style
// targets come from style images whose activations S have M columns (M may
// differ from N: style_scale, other aspect ratios).
//
// Content: J_c = 1/(4·C·N) · Σ (A − A_content)².
//
// Gram (default): Ĝ(A) = A·Aᵀ/N and J = 1/(4·C²) · Σ (Ĝ(A) − Ĝ(S))². When
// M = N this is exactly Gatys et al.'s 1/(4·C²·N²) · Σ (A·Aᵀ − S·Sᵀ)²;
// dividing each Gram by its own column count makes a style image of another
// size comparable.
//
// Every other statistic T is turned into a loss the same way,
// J = s · ‖T(A) − T(S)‖², with the scale chosen so that a given relative
// error of the statistic costs what the same relative error of the Gram
// matrix costs:
//
//	s = (‖Ĝ(S)‖² / (4·C²)) / ‖T(S)‖²
//
// (for the Gram itself s = 1/(4·C²), Gatys' normalisation). Both norms are
// those of the (blended) style target, measured once when the loss is built.
// So J is the Gram loss's scale times a dimensionless relative error, and the
// same β gives a comparable balance between content and style whichever
// statistic is chosen: that is the answer to "switching statistic does not
// need a new β". (A fixed per-statistic constant fitted on one image pair
// would not carry to other layers, images or weights; this ratio does.)
//
//   - cov: the centred Gram Σ̂ = (A − μ)(A − μ)ᵀ/N, μ the per-channel mean.
//   - meanstd: per-channel mean μ and standard deviation σ = √(var + 1e-5)
//     (Li et al. 2017's batch-norm statistics); T = (μ, σ), 2·C numbers.
//   - mmd: the squared maximum mean discrepancy with Li et al.'s polynomial
//     kernel k(x, y) = (xᵀy + c)² between the N columns of A and the M of S.
//     Expanding the kernel, MMD² = ‖Ĝ(A) − Ĝ(S)‖² + 2c·‖μ(A) − μ(S)‖²: the
//     Gram plus mean matching, computed from those statistics (never the
//     N × M kernel matrix). c is set from the style target so that the two
//     terms weigh the same on it: c = ‖Ĝ(S)‖² / (2·‖μ(S)‖²). T = (Ĝ, √(2c)·μ).
//
// Costs: mse is the squared Euclidean distance above. swd is the sliced
// Wasserstein distance of Heitz et al. 2021, which compares the whole
// distributions of feature vectors instead of one statistic (style_stat is
// then ignored and must be gram or empty): K = C random unit directions V
// (redrawn at every evaluation from the layer's seed), projections P = V·A
// ([K, N]) and Q = V·S ([K, M]) sorted along each row, Q resampled to N
// columns by nearest quantile, and
//
//	J = s · Σ (sort(P) − resample(sort(Q)))²,  s = (‖Ĝ(S)‖²/(4·C²)) / (K·N·tr(Ĝ(S))/C),
//
// where K·N·tr(Ĝ(S))/C is the expected Σ Q² over random directions for N
// samples (E(vᵀx)² = ‖x‖²/C for a random unit v), so swd too is the Gram
// scale times a relative error.
//
// Several style images blend by their weights w (normalised to sum 1): the
// target statistic is Σ w·T(S_w) (neural-style blends Gram matrices the same
// way), and for swd the target sorted projections are Σ w·resample(sort(Q_w))
// (a sliced Wasserstein barycentre). For mse this has the gradient of
// Σ w·‖T(A) − T(S_w)‖², and the loss differs from it only by a constant.
//
// # Guidance (spatial control)
//
// Gatys et al. 2017 ("Controlling Perceptual Factors in Neural Style
// Transfer") split the image into regions, each with its own style: a
// region's mask, carried down to a layer's resolution (Guide: averaged over
// the network's 2×2 pooling windows, optionally eroded), gives weights
// w ≥ 0 over the layer's N positions, and a style mask gives weights v over
// a style image's M positions. A guided loss (NewGuidedLayer,
// AddGuidedTarget) computes every statistic as the weighted one over the
// region, normalised by the total weight, for the generated activations
// and the target alike (W is w in every row):
//
//	Ĝ_w(A) = (A⊙W)·Aᵀ / Σw        μ_w = (A⊙W)·1 / Σw
//	Σ̂_w(A) = ((A − μ_w)⊙W)·(A − μ_w)ᵀ / Σw
//	σ_w² = ((A − μ_w)²⊙W)·1 / Σw  (meanstd; mmd is Ĝ_w and μ_w)
//
// and J is the unguided formula on them, with s from the (weighted) target.
// With w = 1 everywhere these are the unguided statistics, and the guided
// code runs the same operations on the same numbers: an all-ones mask
// reproduces the unguided loss exactly. A region's statistic is an average
// over its positions, so its loss does not scale with its area; each
// region's term has its own weight. For a binary mask this is Gatys et
// al.'s guided Gram matrix (F⊙T)(F⊙T)ᵀ (T² = T), divided by the region's
// size; for soft edges crema weights each position by w rather than w².
//
// Every gradient is a product with W (∂J/∂A = 4s·ΔĜ·(A⊙W)/Σw for gram;
// (A − μ_w)⊙W for cov and σ; w·Δμᵀ for the means), so a region's term has
// zero gradient wherever its mask is zero. The terms through μ_w in cov and
// meanstd vanish because Σ w·(A − μ_w) = 0.
//
// swd cannot be guided (Spec.CheckGuided refuses it): a region's sliced
// Wasserstein distance needs the weighted quantiles of its positions'
// projections, a cumulative sum along each sorted row, which no
// kernels.Backend operation provides. (For binary masks, gathering the
// region's columns with a one-row ScatterRows would do, but its float32
// indices stop at 2^24 elements, fewer than conv1_1 has at the page's
// largest sizes, and soft edges would be lost.)
//
// Memory: a guided layer keeps W and one work buffer of the activations'
// size [C, N] per region (meanstd reuses its own); the cost per evaluation
// is a few elementwise passes over [C, N] beside the statistic's MatMul.
package style
