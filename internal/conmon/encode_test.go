package conmon

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestConfigRoundTrip(t *testing.T) {
	c := Config{ID: "abc", RuntimeBin: "/bin/r", RuntimeRoot: "/run/x", Bundle: "/b", LogPath: "/l", ExitPath: "/e", TTY: true, OnExit: []string{"/brig", "rm", "-f", "abc"}}
	got, err := parseConfig(c.encode())
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if _, err := parseConfig("id=x\nbogus=1\n"); err == nil {
		t.Fatal("unknown key accepted")
	}
	if _, err := parseConfig("id=x\n"); err == nil {
		t.Fatal("incomplete config accepted")
	}
}

// The hand-written encoders must produce what encoding/json reads back.
func TestJSONEncoders(t *testing.T) {
	for _, s := range []string{"plain", "quote\" back\\slash", "ctl\x01\x1f\n\t\r", "<html>&", "utf8 é ✓", "bad \xff utf8", "sep\u2028"} {
		var got string
		b := appendJSONString(nil, s)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %s: %v", s, b, err)
		}
		want := s
		if s == "bad \xff utf8" {
			want = "bad \ufffd utf8"
		}
		if got != want {
			t.Errorf("%q round-tripped as %q", s, got)
		}
	}
	e := Exit{Code: 137, FinishedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), OOMKilled: true, Error: "x\"y"}
	var back Exit
	if err := json.Unmarshal(e.JSON(), &back); err != nil || !reflect.DeepEqual(back, e) {
		t.Fatalf("exit JSON %s -> %+v %v", e.JSON(), back, err)
	}
	if v := jsonField(`{"level":"error","msg":"a \"b\"\nc","time":"t"}`, "msg"); v != "a \"b\"\nc" {
		t.Fatalf("jsonField = %q", v)
	}
}

func TestLogWriterLines(t *testing.T) {
	f := t.TempDir() + "/log"
	w, _ := createFile(f)
	l := NewLogWriter(w)
	l.Write("stdout", []byte("a\nb"))
	l.Write("stdout", []byte("c\n"))
	l.Write("stderr", []byte("tail"))
	l.Flush("stderr")
	l.Close()
	lines := readLines(t, f)
	want := []string{"stdout:a\n", "stdout:bc\n", "stderr:tail"}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("log lines %q, want %q", lines, want)
	}
}
