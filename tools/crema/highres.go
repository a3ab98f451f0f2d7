package main

import (
	"fmt"

	"github.com/crema-app/crema/model/transfer"
)

// memoryLine says what the memory model plans for a run (issue 13): what
// it needs untiled, the budget, and the tiles when it uses them.
func memoryLine(p transfer.Plan) string {
	u, m := p.Untiled, p.Memory
	line := fmt.Sprintf("memory: a %d×%d image needs %s untiled (weights %s, tensors %s, scratch %s, host %s); budget %s (%s)",
		p.Width, p.Height, transfer.MiB(u.Total()), transfer.MiB(u.Weights), transfer.MiB(u.Tensors), transfer.MiB(u.Scratch), transfer.MiB(u.Host),
		transfer.MiB(p.Budget), budgetSource(p.BudgetFrom))
	switch {
	case !p.Fits:
		return line + "; does not fit"
	case p.Tiled():
		margin := 0
		for _, st := range p.Stages {
			margin = max(margin, st.Margin)
		}
		return line + fmt.Sprintf("; in %d px tiles (%d px of context) it needs %s", p.Tile, margin, transfer.MiB(m.Total()))
	}
	return line
}

func budgetSource(from string) string {
	switch from {
	case "memory_limit":
		return "-memory_limit"
	case "host":
		return "half this machine's memory"
	}
	return from
}
