package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/flowguard/flowguard/internal/capture"
)

// progress draws a byte-based progress bar over a set of capture readers
// while they are read on another goroutine. It is silent unless asked for or
// stderr is a terminal.
type progress struct {
	bar     *progressbar.ProgressBar
	readers []*capture.Reader
	base    int64 // bytes of the files already finished
	cur     int
	mu      sync.Mutex
	stop    chan struct{}
	wg      sync.WaitGroup
}

func newProgress(w io.Writer, mode string, readers []*capture.Reader) *progress {
	p := &progress{readers: readers, stop: make(chan struct{})}
	show := mode == "always"
	if mode == "auto" {
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			show = true
		}
	}
	if !show {
		return p
	}
	total := int64(0)
	for _, r := range readers {
		if s := r.Size(); s > 0 {
			total += s
		} else {
			total = -1 // stdin: size unknown, show a spinner
			break
		}
	}
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetDescription("metering"),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	p.wg.Add(1)
	go p.loop()
	return p
}

func (p *progress) loop() {
	defer p.wg.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			pos := p.base + p.readers[p.cur].Offset()
			p.mu.Unlock()
			p.bar.Set64(pos)
		}
	}
}

// file marks the start of reader i.
func (p *progress) file(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ; p.cur < i; p.cur++ {
		p.base += max(p.readers[p.cur].Size(), 0)
	}
}

func (p *progress) done() {
	if p.bar == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.bar.Finish()
	fmt.Fprint(p.bar, "")
}
