package lint

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/brigrt/brig/internal/caps"
	"sigs.k8s.io/yaml"
)

// ruleCase is one line of testdata/cases.txt.
type ruleCase struct {
	line          int
	rule, kind    string
	fire, selinux bool
	patch         string
}

func loadRuleCases(t *testing.T) []ruleCase {
	t.Helper()
	b, err := os.ReadFile("testdata/cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []ruleCase
	for i, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 3 {
			t.Fatalf("cases.txt:%d: too few fields", i+1)
		}
		expect, selinux := strings.CutSuffix(f[2], "+selinux")
		if expect != "fire" && expect != "quiet" {
			t.Fatalf("cases.txt:%d: expect %q", i+1, f[2])
		}
		// The patch is the rest of the line after the third field.
		rest := l
		for _, tok := range f[:3] {
			rest = strings.TrimLeft(rest, " \t")
			rest = rest[len(tok):]
		}
		out = append(out, ruleCase{line: i + 1, rule: f[0], kind: f[1], fire: expect == "fire", selinux: selinux, patch: strings.TrimSpace(rest)})
	}
	return out
}

// mergePatch applies an RFC 7386 JSON merge patch.
func mergePatch(doc, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	d, ok := doc.(map[string]any)
	if !ok {
		d = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(d, k)
		} else {
			d[k] = mergePatch(d[k], v)
		}
	}
	return d
}

func expandCaps(s string) string {
	all := caps.All()
	q := func(l []string) string { b, _ := json.Marshal(l); return string(b) }
	s = strings.ReplaceAll(s, "$ALLCAPS", q(all))
	return strings.ReplaceAll(s, "$ALLBUT1", q(all[:len(all)-1]))
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return v
}

// build returns the containers of the clean input for kind with patch applied.
func build(t *testing.T, kind, patch string) []Container {
	t.Helper()
	patch = expandCaps(patch)
	switch kind {
	case KindRun:
		b, err := os.ReadFile("testdata/clean/run.txt")
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Fields(string(b))
		if strings.HasPrefix(patch, "!") {
			args = strings.Fields(patch[1:])
		} else {
			img := len(args) - 3 // "alpine:3 httpd -f"
			args = append(append(append([]string{}, args[:img]...), strings.Fields(patch)...), args[img:]...)
		}
		c, err := FromRunArgs(args)
		if err != nil {
			t.Fatalf("FromRunArgs(%q): %v", args, err)
		}
		return []Container{c}
	case KindOCI:
		doc := decode(t, readFile(t, "testdata/clean/oci.json"))
		data, _ := json.Marshal(mergePatch(doc, decode(t, patch)))
		cs, err := Load("config.json", data, "")
		if err != nil {
			t.Fatal(err)
		}
		return cs
	case KindDockerInspect, KindPodmanInspect:
		arr := decode(t, readFile(t, "testdata/clean/"+kind+".json")).([]any)
		arr[0] = mergePatch(arr[0], decode(t, patch))
		data, _ := json.Marshal(arr)
		cs, err := Load("inspect.json", data, "")
		if err != nil {
			t.Fatal(err)
		}
		if cs[0].Kind != kind {
			t.Fatalf("detected %s, want %s", cs[0].Kind, kind)
		}
		return cs
	case KindKubernetes:
		text := readFile(t, "testdata/clean/kubernetes.yaml")
		head, deploy, _ := strings.Cut(text, "---\n")
		js, err := yaml.YAMLToJSON([]byte(deploy))
		if err != nil {
			t.Fatal(err)
		}
		obj := decode(t, string(js)).(map[string]any)
		p := decode(t, patch).(map[string]any)
		spec := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
		if pp, ok := p["pod"]; ok {
			spec = mergePatch(spec, pp).(map[string]any)
			obj["spec"].(map[string]any)["template"].(map[string]any)["spec"] = spec
		}
		if cp, ok := p["container"]; ok {
			ctrs := spec["containers"].([]any)
			ctrs[0] = mergePatch(ctrs[0], cp)
		}
		js, _ = json.Marshal(obj)
		y, err := yaml.JSONToYAML(js)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := Load("web.yaml", []byte(head+"---\n"+string(y)), "")
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	t.Fatalf("unknown kind %s", kind)
	return nil
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testLookup stands in for the container store: "privctr" and the
// namespace path of pid 4242 are privileged, "plain" and pid 5151 are not.
func testLookup(ref string) (*Container, bool) {
	switch ref {
	case "privctr", "/proc/4242/ns/net":
		return &Container{Name: "privctr", Privileged: true}, true
	case "plain", "/proc/5151/ns/net", "/proc/5151/ns/pid":
		return &Container{Name: "plain"}, true
	}
	return nil, false
}

func TestRuleCases(t *testing.T) {
	cases := loadRuleCases(t)
	have := map[string]bool{}
	for _, c := range cases {
		c := c
		if _, ok := RuleByID(c.rule); !ok {
			t.Fatalf("cases.txt:%d: unknown rule %s", c.line, c.rule)
		}
		have[c.rule+"/"+c.kind+"/"+fmt.Sprint(c.fire)] = true
		t.Run(fmt.Sprintf("%s/%s/line%d", c.rule, c.kind, c.line), func(t *testing.T) {
			cs := build(t, c.kind, c.patch)
			l := &Linter{SELinuxEnabled: func() bool { return c.selinux }, Lookup: testLookup}
			fs := l.Check(cs)
			target := cs[0].Name
			fired := false
			for _, f := range fs {
				if f.Rule == c.rule && f.Container == target {
					fired = true
					if f.Reason == "" || f.Fix == "" {
						t.Errorf("finding without reason or fix: %+v", f)
					}
				}
			}
			if fired != c.fire {
				t.Errorf("cases.txt:%d: %s fired=%v, want %v; findings:\n%s", c.line, c.rule, fired, c.fire, dump(fs))
			}
		})
	}
	// Every rule needs a firing and a quiet case in every input it applies to.
	for _, r := range Rules {
		for _, k := range Kinds {
			if notFor(r, k) {
				continue
			}
			for _, fire := range []bool{true, false} {
				if !have[r.ID+"/"+k+"/"+fmt.Sprint(fire)] {
					t.Errorf("no %s case (fire=%v) for %s", r.ID, fire, k)
				}
			}
		}
	}
}

func dump(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s %s %s: %s\n", f.Rule, f.Severity, f.Container, f.Reason)
	}
	return b.String()
}

// The clean inputs are hardened: no rule fires on their first container.
func TestCleanInputsHaveNoFindings(t *testing.T) {
	for _, k := range Kinds {
		patch := "{}"
		if k == KindRun {
			patch = ""
		}
		cs := build(t, k, patch)
		fs := (&Linter{SELinuxEnabled: func() bool { return false }}).Check(cs)
		for _, f := range fs {
			if f.Container == cs[0].Name {
				t.Errorf("%s: %s %s", k, f.Rule, f.Reason)
			}
		}
	}
}
