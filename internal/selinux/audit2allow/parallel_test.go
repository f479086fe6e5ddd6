package audit2allow

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/brigrt/brig/internal/selinux/avc"
)

// TestParallelSame: splitting a big log across goroutines gives the same
// rules, counts and problem line numbers as one sequential pass.
func TestParallelSame(t *testing.T) {
	base, err := os.ReadFile(logs + "avc_1000.log")
	if err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	var badLines []int
	line := 0
	for in.Len() < 4*minChunk {
		for _, l := range bytes.SplitAfter(base, []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			in.Write(l)
			line++
			if line%5003 == 0 {
				in.WriteString("type=AVC msg=audit(1.1:1): avc:  denied  { read } for tclass=file\n")
				line++
				badLines = append(badLines, line)
			}
		}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	par, probs := ParseBytes(in.Bytes(), "big.log", Filter{}, false)
	seq := NewSet(Filter{})
	p := &avc.Parser{File: "big.log"}
	seqProbs, err := p.Parse(bytes.NewReader(in.Bytes()), func(r *avc.Record) error { seq.Add(r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	Write(&a, par.Rules(), Options{Explain: true})
	Write(&b, seq.Rules(), Options{Explain: true})
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("parallel and sequential rules differ")
	}
	if par.Denials != seq.Denials || par.Denials != line-len(badLines) {
		t.Errorf("denials %d vs %d, want %d", par.Denials, seq.Denials, line-len(badLines))
	}
	if len(probs) != len(badLines) || len(seqProbs) != len(badLines) {
		t.Fatalf("%d/%d problems, want %d", len(probs), len(seqProbs), len(badLines))
	}
	for i, pr := range probs {
		if pr.Line != badLines[i] || seqProbs[i].Line != badLines[i] {
			t.Errorf("problem %d at line %d (sequential %d), want %d", i, pr.Line, seqProbs[i].Line, badLines[i])
		}
	}
	t.Logf("%d lines, %s", line, fmt.Sprint(len(badLines), " bad"))
}
