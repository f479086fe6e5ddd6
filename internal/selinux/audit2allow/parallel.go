package audit2allow

import (
	"bytes"
	"runtime"
	"sort"
	"sync"

	"github.com/brigrt/brig/internal/selinux/avc"
)

// minChunk keeps small inputs on one goroutine, where splitting costs
// more than it saves.
const minChunk = 1 << 20

// ParseBytes parses a whole log, split at line boundaries across the
// CPUs, and returns the merged rules and the problems in line order.
func ParseBytes(data []byte, name string, f Filter, details bool) (*Set, []*avc.LineError) {
	workers := runtime.GOMAXPROCS(0)
	if n := len(data) / minChunk; n < workers {
		workers = max(n, 1)
	}
	type part struct {
		set   *Set
		probs []*avc.LineError
	}
	parts := make([]part, workers)
	var wg sync.WaitGroup
	start, line := 0, 0
	for w := 0; w < workers; w++ {
		end := len(data)
		if w < workers-1 {
			end = len(data) * (w + 1) / workers
			if i := bytes.IndexByte(data[end:], '\n'); i >= 0 {
				end += i + 1
			} else {
				end = len(data)
			}
		}
		if end < start {
			end = start
		}
		chunk := data[start:end]
		wg.Add(1)
		go func(w, first int, chunk []byte) {
			defer wg.Done()
			set := NewSet(f)
			p := &avc.Parser{File: name, Details: details, FirstLine: first}
			// A bytes.Reader cannot fail, so neither can Parse here.
			probs, _ := p.Parse(bytes.NewReader(chunk), func(r *avc.Record) error { set.Add(r); return nil })
			parts[w] = part{set, probs}
		}(w, line, chunk)
		line += bytes.Count(chunk, []byte{'\n'})
		start = end
	}
	wg.Wait()
	set := parts[0].set
	probs := parts[0].probs
	for _, p := range parts[1:] {
		set.merge(p.set)
		probs = append(probs, p.probs...)
	}
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
	return set, probs
}

// merge folds o, read from later input, into s.
func (s *Set) merge(o *Set) {
	s.Denials += o.Denials
	s.Granted += o.Granted
	s.Skipped += o.Skipped
	for k, b := range o.rules {
		a := s.rules[k]
		if a == nil {
			s.rules[k] = b
			continue
		}
		for _, p := range b.perms {
			if !contains(a.perms, p) {
				a.perms = append(a.perms, p)
			}
		}
		for c := range b.ioctl {
			if a.ioctl == nil {
				a.ioctl = map[uint16]struct{}{}
			}
			a.ioctl[c] = struct{}{}
		}
		a.Count += b.Count
		a.Permissive += b.Permissive
	}
}
