package display

import (
	"fmt"
	"html"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// ProgressBar shows the progress of a long computation. In a kernel it is an
// HTML bar (percent, counts, rate, ETA, status text, with a text/plain
// fallback in the same bundle) updated in place through one display_id;
// outside a kernel it redraws a one-line text bar on standard error with a
// carriage return. Updates are throttled to at most one per MinInterval
// (the final state is always shown by Close). Safe for concurrent use.
type ProgressBar struct {
	// MinInterval is the least time between two redraws; NewProgressBar sets
	// 100 ms (at most 10 updates per second).
	MinInterval time.Duration

	mu       sync.Mutex
	title    string
	total    int
	done     int
	status   string
	start    time.Time
	last     time.Time
	drawn    bool
	closed   bool
	handle   *Handle
	now      func() time.Time // replaced in tests
	w        io.Writer        // text bar destination outside a kernel
	inKernel bool
}

// NewProgressBar returns a bar titled title counting to total (total ≤ 0
// means unknown: no percent or ETA is shown). It draws the empty bar at once.
func NewProgressBar(title string, total int) *ProgressBar {
	p := &ProgressBar{
		MinInterval: 100 * time.Millisecond,
		title:       title,
		total:       total,
		handle:      NewHandle(),
		now:         time.Now,
		w:           os.Stderr,
		inKernel:    InKernel(),
	}
	p.start = p.now()
	p.mu.Lock()
	p.draw(false)
	p.mu.Unlock()
	return p
}

// Set records that done of total units are finished, with a short status text
// (e.g. "loss 0.231"), and redraws unless the last redraw was less than
// MinInterval ago. done beyond total is shown as total.
func (p *ProgressBar) Set(done int, status string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.done, p.status = done, status
	if p.now().Sub(p.last) < p.MinInterval {
		return
	}
	p.draw(false)
}

// Add advances the count by n, keeping the status text.
func (p *ProgressBar) Add(n int) {
	p.mu.Lock()
	done, status := p.done+n, p.status
	p.mu.Unlock()
	p.Set(done, status)
}

// Close draws the final state (unthrottled) and ends the bar; later calls to
// Set do nothing. Outside a kernel it ends the text line.
func (p *ProgressBar) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.draw(true)
}

// ID returns the display_id the bar updates.
func (p *ProgressBar) ID() string { return p.handle.ID() }

// draw publishes the current state; p.mu is held.
func (p *ProgressBar) draw(final bool) {
	p.last = p.now()
	st := p.state()
	if !p.inKernel {
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(p.w, "\r%s%s", st.text(), end)
		return
	}
	d := Data{Data: map[MIME]any{MIMEHTML: st.html(), MIMEPlain: st.text()}}
	d = d.WithDisplayID(p.handle.ID())
	Publish(d, p.drawn)
	p.drawn = true
}

type progressState struct {
	title, status string
	done, total   int
	elapsed       time.Duration
	final         bool
}

func (p *ProgressBar) state() progressState {
	done := p.done
	if p.total > 0 && done > p.total {
		done = p.total
	}
	return progressState{title: p.title, status: p.status, done: done, total: p.total,
		elapsed: p.last.Sub(p.start), final: p.closed}
}

func (s progressState) frac() float64 {
	if s.total <= 0 {
		return 0
	}
	return float64(s.done) / float64(s.total)
}

// rate is units per second, 0 before any time has passed.
func (s progressState) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.done) / s.elapsed.Seconds()
}

// eta is the remaining time at the average rate so far; ok false when unknown.
func (s progressState) eta() (time.Duration, bool) {
	r := s.rate()
	if s.total <= 0 || r <= 0 {
		return 0, false
	}
	return time.Duration(float64(s.total-s.done) / r * float64(time.Second)), true
}

func (s progressState) counts() string {
	var b strings.Builder
	if s.total > 0 {
		fmt.Fprintf(&b, "%3.0f%% %d/%d", 100*s.frac(), s.done, s.total)
	} else {
		fmt.Fprintf(&b, "%d", s.done)
	}
	fmt.Fprintf(&b, " [%s", fmtDuration(s.elapsed))
	if eta, ok := s.eta(); ok && !s.final {
		fmt.Fprintf(&b, "<%s", fmtDuration(eta))
	}
	fmt.Fprintf(&b, ", %.2f/s]", s.rate())
	return b.String()
}

func (s progressState) text() string {
	const width = 30
	filled := int(s.frac()*width + 0.5)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	out := fmt.Sprintf("%s |%s| %s", s.title, bar, s.counts())
	if s.status != "" {
		out += " " + s.status
	}
	return out
}

func (s progressState) html() string {
	bar := `<progress style="width:20em"></progress>` // indeterminate when total is unknown
	if s.total > 0 {
		bar = fmt.Sprintf(`<progress value="%d" max="%d" style="width:20em"></progress>`, s.done, s.total)
	}
	return fmt.Sprintf(`<div class="qlab-progress" style="font-family:monospace;display:flex;align-items:center;gap:0.6em">`+
		`<span>%s</span>%s<span>%s</span><span>%s</span></div>`,
		html.EscapeString(s.title), bar, html.EscapeString(s.counts()), html.EscapeString(s.status))
}

func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", m, s)
}
