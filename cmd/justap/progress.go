package main

import (
	"fmt"
	"io"
	"time"
)

// progress reports a long walk on stderr: items, pages, rate and time
// elapsed. It is on when stderr is a terminal (--progress auto) or when
// forced (--progress always), and never writes to stdout.
type progress struct {
	w        io.Writer
	terminal bool
	noun     string
	pages    func() int64
	start    time.Time
	last     time.Time
	items    int
}

// newProgress returns the progress of a walk of nouns, or nil when
// progress is off. A nil *progress does nothing.
func (a *app) newProgress(noun string) *progress {
	term := a.isTerminal(a.stderr)
	if a.progress == "never" || (a.progress == "auto" && !term) {
		return nil
	}
	now := time.Now()
	return &progress{w: a.stderr, terminal: term, noun: noun, pages: a.requests.pages.Load, start: now}
}

// add counts n more items and redraws at most ten times a second.
func (p *progress) add(n int) {
	if p == nil {
		return
	}
	p.items += n
	if now := time.Now(); p.items == n || now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.draw(now)
	}
}

// done draws the final figures and ends the line.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.draw(time.Now())
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}

func (p *progress) draw(now time.Time) {
	elapsed := now.Sub(p.start)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(p.items) / s // a display figure only; no money passes here
	}
	line := fmt.Sprintf("%d %s, %d pages, %.0f/s, %s", p.items, p.noun, p.pages(), rate, elapsed.Round(100*time.Millisecond))
	if p.terminal {
		fmt.Fprintf(p.w, "\r%s\033[K", line) // redraw in place, clearing what was longer
	} else {
		fmt.Fprintln(p.w, line)
	}
}
