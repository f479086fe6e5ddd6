package audit2allow

import (
	"io"
	"os"
	"os/exec"
	"testing"
)

// genAVC makes n denials with the fixtures' generator (the same input the
// bench/audit2allow script gives real audit2allow).
func genAVC(b *testing.B, n string) []byte {
	b.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		b.Skip("python3 is needed to run gen_avc.py")
	}
	d := "../avc/testdata/"
	out, err := exec.Command(py, d+"gen_avc.py", n, d+"domains.txt", d+"filetypes.txt", d+"porttypes.txt",
		"--seed", "42", "--focus", "docker_apache_t").Output()
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkAudit2allow100k is the target: 100,000 denials in under
// a second and 100 MB (run with -benchmem; the CLI's RSS is measured by
// bench/audit2allow/run.sh).
func BenchmarkAudit2allow100k(b *testing.B) {
	var in []byte
	if f := os.Getenv("BRIG_AVC_INPUT"); f != "" {
		// A pre-generated file keeps python out of CPU profiles.
		var err error
		if in, err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
	} else {
		in = genAVC(b, "100000")
	}
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		set, probs := ParseBytes(in, "in.log", Filter{}, false)
		if len(probs) != 0 {
			b.Fatal(probs[0])
		}
		if err := Write(io.Discard, set.Rules(), Options{}); err != nil {
			b.Fatal(err)
		}
		if set.Denials != 100000 {
			b.Fatalf("%d denials", set.Denials)
		}
	}
}
