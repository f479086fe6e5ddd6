package store

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress reports pulls: a redrawn bar per layer on a terminal, plain
// lines otherwise (logs, CI, pipes).
type progress struct {
	w   io.Writer
	tty bool
	mu  sync.Mutex
}

func newProgress(w io.Writer) *progress {
	if w == nil {
		return nil
	}
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		p.tty = isTerminal(f.Fd())
	}
	return p
}

func (p *progress) printf(format string, a ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, a...)
}

func (p *progress) exists(diffID string) { p.printf("%s: already exists\n", shortID(diffID)) }

func (p *progress) start(diffID string, size int64) *layerBar {
	b := &layerBar{p: p, id: shortID(diffID), total: size}
	if p != nil && !p.tty {
		p.printf("%s: downloading %s\n", b.id, humanSize(size))
	}
	return b
}

type layerBar struct {
	p           *progress
	id          string
	total, done int64
	last        time.Time
}

func (b *layerBar) wrap(rc io.ReadCloser) io.ReadCloser {
	if b.p == nil || !b.p.tty {
		return rc
	}
	return &countingReader{rc: rc, bar: b}
}

func (b *layerBar) draw() {
	const width = 30
	n := width
	if b.total > 0 && b.done < b.total {
		n = int(b.done * width / b.total)
	}
	bar := strings.Repeat("=", n)
	if n < width {
		bar += ">" + strings.Repeat(" ", width-n-1)
	}
	b.p.printf("\r\x1b[K%s: downloading [%s] %s/%s", b.id, bar, humanSize(b.done), humanSize(b.total))
}

func (b *layerBar) finish(err error) {
	if b.p == nil {
		return
	}
	status := "pull complete"
	if err != nil {
		status = "failed"
	}
	if b.p.tty {
		b.p.printf("\r\x1b[K%s: %s\n", b.id, status)
		return
	}
	b.p.printf("%s: %s\n", b.id, status)
}

type countingReader struct {
	rc  io.ReadCloser
	bar *layerBar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.bar.done += int64(n)
	if now := time.Now(); now.Sub(c.bar.last) > 100*time.Millisecond || err == io.EOF {
		c.bar.last = now
		c.bar.draw()
	}
	return n, err
}

func (c *countingReader) Close() error { return c.rc.Close() }

// humanSize prints sizes the way docker does (decimal units).
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}

// HumanSize is humanSize for the CLI's tables.
func HumanSize(n int64) string { return humanSize(n) }
