package train

import (
	"fmt"
	"io"
	"time"

	"github.com/qlab-dev/qlab/qlab/display"
)

// String renders p on one line, e.g.
// "epoch 1/5 batch 200/938 loss 0.2345 acc 93.12% 512 img/s 00:25 eta 03:10".
func (p Progress) String() string {
	return fmt.Sprintf("epoch %d/%d batch %d/%d loss %.4f acc %.2f%% %.0f img/s %s eta %s",
		p.Epoch+1, p.Epochs, p.Batch, p.Batches, p.Loss, 100*p.Accuracy, p.ImagesPerSec,
		clock(p.Elapsed), clock(p.ETA))
}

func clock(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", m, s)
}

// TextProgress returns a Config.Progress callback that writes
// Progress.String() lines to w, at most one per interval (0 means one
// second) plus always the last batch of every epoch.
func TextProgress(w io.Writer, interval time.Duration) func(Progress) {
	if interval <= 0 {
		interval = time.Second
	}
	var last time.Time
	return func(p Progress) {
		now := time.Now()
		if p.Batch != p.Batches && now.Sub(last) < interval {
			return
		}
		last = now
		fmt.Fprintln(w, p.String())
	}
}

// ProgressBar returns a Config.Progress callback that draws one
// display.ProgressBar over the whole run (an HTML bar updated in place in
// a notebook, a text bar on standard error elsewhere), counting training
// batches, with the epoch, running loss and accuracy as its status. The
// bar closes after the last batch of the last epoch.
func ProgressBar(title string) func(Progress) {
	var bar *display.ProgressBar
	return func(p Progress) {
		total := p.Epochs * p.Batches
		if bar == nil {
			bar = display.NewProgressBar(title, total)
		}
		done := p.Epoch*p.Batches + p.Batch
		bar.Set(done, fmt.Sprintf("epoch %d/%d loss %.4f acc %.2f%%", p.Epoch+1, p.Epochs, p.Loss, 100*p.Accuracy))
		if done >= total {
			bar.Close()
			bar = nil
		}
	}
}
