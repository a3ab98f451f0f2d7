package cpu

// PackConvGo is convOperand.packB as a PackConvFunc: the reference the
// tests hold the module's pack_conv to.
func PackConvGo(dst, src []float32, h, w, pix0, nc, k0, kc, nr int) {
	op := &convOperand{src: src, h: h, w: w, off: pix0, cols: nc}
	op.packB(dst, k0, kc, 0, nc, nr)
}
