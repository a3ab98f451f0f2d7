package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/crema-app/crema/model/transfer"
)

// progressBar draws iteration, losses, it/s and ETA on one redrawn stderr
// line when stderr is a terminal, and prints a plain line every printIter
// iterations otherwise (and always at the end). Notes go on their own line.
type progressBar struct {
	w         io.Writer
	tty       bool
	total     int
	printIter int
	start     time.Time
	startIter int
	iter      int
	drawn     bool
	last      transfer.Progress
	printed   int // the iteration last printed (non-terminal)
}

func newProgressBar(w io.Writer, total, printIter int) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressBar{w: w, tty: tty, total: total, printIter: printIter, start: time.Now(), printed: -1}
}

func (p *progressBar) update(pr transfer.Progress) {
	if pr.Iter == 0 {
		p.start, p.startIter = time.Now(), 0
	}
	p.iter, p.last = pr.Iter, pr
	if pr.Note != "" {
		p.note(pr.Note)
	}
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r%s\x1b[K", p.line())
		p.drawn = true
	case p.printIter > 0 && pr.Iter%p.printIter == 0 && pr.Iter != p.printed:
		fmt.Fprintln(p.w, p.line())
		p.printed = pr.Iter // a tiled stage reports an iteration once per tile
	}
}

func (p *progressBar) line() string {
	const width = 20
	done := 0
	if p.total > 0 {
		done = min(width, p.iter*width/p.total)
	}
	bar := strings.Repeat("#", done) + strings.Repeat(".", width-done)
	el := time.Since(p.start).Seconds()
	rate, eta := 0.0, "?"
	if n := p.iter - p.startIter; n > 0 && el > 0 {
		rate = float64(n) / el
		eta = (time.Duration(float64(p.total-p.iter)/rate) * time.Second).Round(time.Second).String()
	}
	var style float64
	for _, v := range p.last.Style {
		style += v
	}
	line := fmt.Sprintf("[%s] %d/%d  total %.4g  content %.4g  style %.4g  %.2f it/s  ETA %s",
		bar, p.iter, p.total, p.last.Total, p.last.Content, style, rate, eta)
	if l := p.last; l.Tiles > 0 { // a tiled stage: the losses are the tile's
		line += fmt.Sprintf("  tile %d/%d pass %d/%d", l.Tile, l.Tiles, l.Pass, l.Passes)
	}
	return line
}

func (p *progressBar) note(s string) {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintln(p.w, "crema: note: "+s)
	p.drawn = false
}

// finish ends the bar's line.
func (p *progressBar) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	} else if !p.tty && (p.printIter == 0 || p.iter%p.printIter != 0) {
		fmt.Fprintln(p.w, p.line())
	}
}
