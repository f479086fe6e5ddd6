package conmon

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

func createFile(p string) (*os.File, error) { return os.Create(p) }

func readLines(t *testing.T, p string) []string {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct{ Log, Stream, Time string }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("bad log line %q: %v", sc.Text(), err)
		}
		out = append(out, l.Stream+":"+l.Log)
	}
	return out
}
