package specjson

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/brigrt/brig/internal/runtime/wire"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// configs are real config.json documents: podman's and containerd's, as
// captured for the other packages' tests.
func configs(t testing.TB) map[string][]byte {
	t.Helper()
	var files []string
	for _, g := range []string{"../spec/testdata/podman-specs/*.json", "../lint/testdata/fixtures/*-*.json", "../selinux/policygen/testdata/oci_config.json"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	docs := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(`"ociVersion"`)) {
			docs[filepath.Base(f)] = b
		}
	}
	if len(docs) < 10 {
		t.Fatalf("found %d config documents, want at least 10", len(docs))
	}
	return docs
}

// sameDecode decodes doc with encoding/json and with fn and fails unless
// both accept it and agree on the value, or both reject it.
func sameDecode[T any](t *testing.T, doc []byte, fn func([]byte, *T) error) {
	t.Helper()
	var want, got T
	werr := json.Unmarshal(doc, &want)
	gerr := fn(doc, &got)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("encoding/json error %v, specjson error %v, for %q", werr, gerr, doc)
	}
	if werr == nil && !reflect.DeepEqual(want, got) {
		t.Fatalf("decoded values differ for %q:\nencoding/json %+v\nspecjson      %+v", doc, want, got)
	}
}

func sameEncode[T any](t *testing.T, v *T, fn func(*T) ([]byte, error)) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := fn(v)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("encoding/json error %v, specjson error %v", werr, gerr)
	}
	if !bytes.Equal(want, got) {
		t.Fatalf("encodings differ:\nencoding/json %s\nspecjson      %s", want, got)
	}
}

func TestRealConfigs(t *testing.T) {
	for name, doc := range configs(t) {
		t.Run(name, func(t *testing.T) {
			sameDecode(t, doc, DecodeSpec)
			var s specs.Spec
			if err := DecodeSpec(doc, &s); err != nil {
				t.Fatal(err)
			}
			if s.Process == nil || len(s.Mounts) == 0 {
				t.Fatalf("decoded too little: %+v", s)
			}
			sameEncode(t, &s, EncodeSpec)
		})
	}
}

// TestEdgeCases covers the corners of encoding/json's decoding contract
// one by one, each compared with encoding/json itself.
func TestEdgeCases(t *testing.T) {
	for _, doc := range []string{
		`{}`, `null`, ` {"ociVersion":"1.0.2"} `, `{"OCIVERSION":"x"}`, `{"ociversion":"a","ociVersion":"b"}`,
		`{"ociVersion":"b","ociversion":"a"}`, `{"process":null}`, `{"process":{"args":null}}`,
		`{"process":{"args":[]}}`, `{"process":{"args":["a",null,"c"]}}`, `{"hostname":null}`,
		`{"mounts":[{"destination":"/a","options":["x"]},{"destination":"/b"}],"mounts":[{"type":"t"}]}`,
		`{"mounts":[{"destination":"/a"},{"destination":"/b"}],"mounts":[{"type":"t"}],"mounts":[{},{}]}`,
		`{"process":{"cwd":"/"},"process":{"args":["x"]}}`, `{"annotations":{"a":"1"},"annotations":{"b":"2"}}`,
		`{"annotations":{}}`, `{"annotations":null}`, `{"annotations":{"a":null}}`,
		`{"hostname":"\u00e9\ud83d\ude00\ud800x\\\/\"\b\f\n\r\t"}`, "{\"hostname\":\"\xff\xfe ok \xc3\"}",
		`{"linux":{"resources":{"memory":{"limit":9223372036854775807}}}}`,
		`{"linux":{"resources":{"memory":{"limit":9223372036854775808}}}}`,
		`{"linux":{"resources":{"memory":{"limit":1.5}}}}`, `{"linux":{"resources":{"memory":{"limit":1e3}}}}`,
		`{"linux":{"resources":{"memory":{"limit":-0}}}}`, `{"linux":{"resources":{"cpu":{"shares":-1}}}}`,
		`{"linux":{"resources":{"cpu":{"shares":18446744073709551615}}}}`, `{"linux":{"resources":{"blockIO":{"weight":65536}}}}`,
		`{"linux":{"resources":{"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":10}]}}}}`,
		`{"process":{"user":{"uid":-1}}}`, `{"process":{"user":{"uid":4294967296}}}`, `{"process":{"terminal":"yes"}}`,
		`{"process":{"args":"sh"}}`, `{"process":[]}`, `{"mounts":{}}`, `{"process":{"terminal":null}}`,
		`{"unknown":{"deep":[1,2,{"x":"}"}]},"hostname":"h"}`, `{"windows":{"credentialSpec":{"a":[1,"b",null,true]}}}`,
		`{"linux":{"devices":[{"path":"/dev/x","type":"c","major":1,"minor":3,"fileMode":438}]}}`,
		`{"linux":{"namespaces":[{"type":"pid"},{"type":"network","path":"/proc/1/ns/net"}]}}`,
		`{"ociVersion":"1"} x`, `{"ociVersion":}`, `{`, ``, `[]`, `"s"`, `5`, `{"ociVersion":1}`, `{"root":{"readonly":1}}`,
		`{"\u006fciVersion":"escaped key"}`, `{"ociVersıon":"dotless i"}`, `{"ſeccomp":"long s"}`, `{"linux":{"ſeccomp":{"defaultAction":"SCMP_ACT_ERRNO"}}}`,
		`{"process":{"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}]}}`,
	} {
		t.Run(doc, func(t *testing.T) { sameDecode(t, []byte(doc), DecodeSpec) })
	}
}

func TestInitConfig(t *testing.T) {
	for _, doc := range []string{
		`{"id":"x","spec":{"root":{"path":"/r"},"seccomp":"AAEC","seccompFlags":2},"process":{"args":["sh"]},"cgroup":{"path":"/brig/x","paths":{"memory":"/sys/fs/cgroup/memory/brig/x"}}}`,
		`{"spec":{"seccomp":[1,2,255]}}`, `{"spec":{"seccomp":[256]}}`, `{"spec":{"seccomp":"not base64!"}}`, `{"spec":{"seccomp":null}}`,
		`{"spec":{"seccomp":""}}`, `{"fifoFd":-3,"preserveFds":2}`,
	} {
		t.Run(doc, func(t *testing.T) { sameDecode(t, []byte(doc), DecodeInit) })
	}
	c := wire.InitConfig{ID: "x", Spec: &wire.InitSpec{Seccomp: []byte{0, 1, 2}, Sysctl: map[string]string{"b": "1", "a": "<&>"}}}
	sameEncode(t, &c, EncodeInit)
}

// TestRandomValues fills every field of every type reachable from the
// roots (spec, init config, state) with random values (strings with escapes, bad UTF-8, HTML
// characters; empty and nil slices and maps) and checks that both
// directions match encoding/json.
func TestRandomValues(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		var s specs.Spec
		fill(r, reflect.ValueOf(&s).Elem(), 0)
		sameEncode(t, &s, EncodeSpec)
		doc, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		sameDecode(t, doc, DecodeSpec)
		var c wire.InitConfig
		fill(r, reflect.ValueOf(&c).Elem(), 0)
		sameEncode(t, &c, EncodeInit)
		doc, err = json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		sameDecode(t, doc, DecodeInit)
		var st wire.State
		fill(r, reflect.ValueOf(&st).Elem(), 0)
		st.Created = time.Unix(r.Int64N(1<<34), r.Int64N(1e9))
		if r.IntN(2) == 0 {
			st.Created = st.Created.In(time.FixedZone("X", 3600*r.IntN(12)))
		}
		sameEncode(t, &st, EncodeState)
		doc, err = json.Marshal(&st)
		if err != nil {
			t.Fatal(err)
		}
		sameDecode(t, doc, DecodeState)
	}
}

func TestStateTime(t *testing.T) {
	for _, doc := range []string{
		`{"id":"x","created":"2026-11-27T05:00:00.123456789Z"}`, `{"created":null}`, `{"created":5}`,
		`{"created":"yesterday"}`, `{"created":"2026-11-27T05:00:00+01:00","phase":"created"}`,
	} {
		t.Run(doc, func(t *testing.T) { sameDecode(t, []byte(doc), DecodeState) })
	}
}

var strs = []string{"", "a", "/proc", "<&>", "é", "\u2028\u2029", "\x00\x1f\"\\", "\xff\xfe", "CAP_SYS_ADMIN", strings.Repeat("x", 70)}

func fill(r *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(strs[r.IntN(len(strs))])
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := v.Type().Bits()
		v.SetInt(int64(r.Uint64()) >> (64 - bits) >> r.IntN(bits))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := v.Type().Bits()
		v.SetUint(r.Uint64() >> (64 - bits) >> r.IntN(bits))
	case reflect.Pointer:
		if depth < 8 && r.IntN(4) != 0 {
			v.Set(reflect.New(v.Type().Elem()))
			fill(r, v.Elem(), depth+1)
		}
	case reflect.Slice:
		switch n := r.IntN(5); {
		case n == 0: // nil
		case depth >= 8:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			v.Set(reflect.MakeSlice(v.Type(), n-1, n-1))
			for i := 0; i < n-1; i++ {
				fill(r, v.Index(i), depth+1)
			}
		}
	case reflect.Map:
		if n := r.IntN(4); n > 0 {
			v.Set(reflect.MakeMap(v.Type()))
			for i := 0; i < n-1; i++ {
				k := reflect.New(v.Type().Key()).Elem()
				fill(r, k, depth+1)
				e := reflect.New(v.Type().Elem()).Elem()
				fill(r, e, depth+1)
				v.SetMapIndex(k, e)
			}
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i), depth+1)
			}
		}
	case reflect.Interface:
		if r.IntN(2) == 0 {
			v.Set(reflect.ValueOf(map[string]any{"k": []any{1.5, "s", nil, true}}))
		}
	}
}

// FuzzDecodeSpec mutates real configs and requires specjson to accept,
// reject and decode them exactly as encoding/json does. The seeds are
// 10-14 KB, and minimizing each new input can take the default minute:
// fuzz with -fuzzminimizetime 2s (some 4,000 runs a second here).
func FuzzDecodeSpec(f *testing.F) {
	for _, doc := range configs(f) {
		f.Add(doc)
	}
	f.Add([]byte(`{"Process":{"ARGS":["a"]},"process":{"cwd":"/"},"linux":{"resources":{"memory":{"limit":-1}}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		sameDecode(t, doc, DecodeSpec)
		var s specs.Spec
		if DecodeSpec(doc, &s) == nil {
			sameEncode(t, &s, EncodeSpec)
		}
	})
}

func FuzzDecodeInit(f *testing.F) {
	f.Add([]byte(`{"id":"x","spec":{"root":{"path":"/r"},"seccomp":"AAEC"},"process":{"args":["sh"]},"cgroup":{"paths":{"a":"b"}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) { sameDecode(t, doc, DecodeInit) })
}

// BenchmarkDecode measures a warm decode. What matters is the first
// decode in a fresh process, which this loop cannot show: specjson's is
// about as fast as this, encoding/json's some twenty times slower (see
// the package comment).
func BenchmarkDecode(b *testing.B) {
	doc, err := os.ReadFile("../spec/testdata/podman-specs/a-default.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		var s specs.Spec
		if err := DecodeSpec(doc, &s); err != nil {
			b.Fatal(err)
		}
	}
}

// TestGenerated fails when codec_gen.go is not what gen writes for the
// types as they are now (after a runtime-spec upgrade, say).
func TestGenerated(t *testing.T) {
	out := filepath.Join(t.TempDir(), "codec_gen.go")
	cmd := exec.Command("go", "run", "./gen", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("codec_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("codec_gen.go is stale: run go generate ./internal/specjson")
	}
}
