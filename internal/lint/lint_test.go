package lint

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Real configs written by podman 4.3.1 and containerd 1.6.20 (copied from
// /work/shared/fixtures/{podman,ctr}-specs), with the rules each must fire.
func TestRealEngineConfigs(t *testing.T) {
	want := map[string]string{
		"ctr-default":                        "BRIG004 BRIG011 BRIG013 BRIG014",
		"ctr-privileged":                     "BRIG001 BRIG013 BRIG014",
		"podman-a-default":                   "BRIG004 BRIG012 BRIG013 BRIG014",
		"podman-d-cap-drop-all-add-sys-time": "BRIG003 BRIG012 BRIG013 BRIG014",
		"podman-e-privileged":                "BRIG001 BRIG012 BRIG013 BRIG014",
		"podman-f-host-pid-net-ipc":          "BRIG004 BRIG005 BRIG006 BRIG007 BRIG012 BRIG013 BRIG014",
		"podman-g1-label-level-topsecret":    "BRIG004 BRIG010 BRIG012 BRIG013 BRIG014",
		"podman-h1-no-new-privileges":        "BRIG004 BRIG013 BRIG014",
		"podman-h2-seccomp-unconfined":       "BRIG004 BRIG011 BRIG012 BRIG013 BRIG014",
		"podman-h3-read-only":                "BRIG004 BRIG012 BRIG014",
		"podman-h4-user-1000":                "BRIG004 BRIG012 BRIG013",
	}
	for name, rules := range want {
		file := filepath.Join("testdata", "fixtures", name+".json")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := Load(file, data, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(cs) != 1 || cs[0].Kind != KindOCI {
			t.Fatalf("%s: %+v", name, cs)
		}
		fs := (&Linter{SELinuxEnabled: func() bool { return false }}).Check(cs)
		got := map[string]bool{}
		for _, f := range fs {
			got[f.Rule] = true
		}
		var ids []string
		for id := range got {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		if strings.Join(ids, " ") != rules {
			t.Errorf("%s: fired %v, want %s\n%s", name, ids, rules, dump(fs))
		}
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct {
		name, data, want string
	}{
		{"bad.json", "{\n  \"ociVersion\": \"1.0\",\n  \"process\": {,\n}", "bad.json:3:"},
		{"types.json", "{\n\"ociVersion\": \"1\",\n\"process\": {\"noNewPrivileges\": \"yes\"}}", "types.json:3:"},
		{"arr.json", "[\n{\"HostConfig\": {\"Privileged\": 1}}\n]", "arr.json:2:"},
		{"empty.json", "  \n", "empty input"},
		{"none.json", "[]", "inspect array is empty"},
		{"what.json", "{\"foo\": 1}", "neither an OCI config"},
		{"k.yaml", "kind: Service\n---\nkind: Pod\nspec:\n  containers:\n  - name: a\n     image: x\n", "line 7"},
		{"nokind.yaml", "apiVersion: v1\nspec: {}\n", "line 1 has no kind"},
		{"svc.yaml", "kind: Service\nmetadata: {name: x}\n", "no Pod or workload"},
		{"deploy.yaml", "kind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}\n", "has no spec.template.spec"},
		{"badcap.yaml", "kind: Pod\nspec:\n  containers:\n  - name: a\n    securityContext: {capabilities: {add: [NOPE]}}\n", "unknown capability \"NOPE\""},
		{"badcap.json", "{\"ociVersion\":\"1\",\"process\":{\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}}}", "unknown capability"},
		{"noHC.json", "[{\"Id\":\"x\",\"HostConfig\":{}},{\"Id\":\"y\"}]", "element 1 has no HostConfig"},
	} {
		_, err := Load(c.name, []byte(c.data), "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := Load("x", []byte("{}"), "toml"); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestRunArgErrors(t *testing.T) {
	for args, want := range map[string]string{
		"":                                    "want a run command line",
		"ps -a":                               "want a run command line",
		"run":                                 "no image",
		"run --privileged":                    "no image",
		"run --frobnicate alpine":             "unknown flag: --frobnicate",
		"run --cap-add NOPE alpine":           "unknown capability",
		"run --security-opt what=ever alpine": "unknown --security-opt",
		"run --security-opt seccomp alpine":   "seccomp needs a profile",
		"run --security-opt no-new-privileges=maybe alpine": "takes true or false",
		"run --mount type=bind,source=/x alpine":            "no target",
		"run --privileged=notabool alpine":                  "invalid argument",
	} {
		_, err := FromRunArgs(strings.Fields(args))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", args, err, want)
		}
	}
}

func TestRunArgsShapes(t *testing.T) {
	// Flags after the image belong to the command, not to run.
	c, err := FromRunArgs(strings.Fields("docker container run -d --rm -e X=1 --name=api -p 80:80 nginx nginx --privileged"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Privileged || c.Name != "api" {
		t.Fatalf("%+v", c)
	}
	c, err = FromRunArgs(strings.Fields("podman create --pod p1 --userns keep-id -it --user 1000 busybox"))
	if err != nil || c.Root || c.User != "1000" {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestOutputs(t *testing.T) {
	c, err := FromRunArgs(strings.Fields("run --name api --privileged -v /:/host --cap-add SYS_ADMIN alpine"))
	if err != nil {
		t.Fatal(err)
	}
	k := build(t, KindKubernetes, `{"pod":{"hostPID":true}}`)
	fs := (&Linter{SELinuxEnabled: func() bool { return false }}).Check(append([]Container{c}, k...))

	var text bytes.Buffer
	if err := Write(&text, FormatText, fs); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"command line: CRITICAL [BRIG001 CIS 5.5] api: runs privileged", "    fix: ", "web.yaml:", "Deployment/web/httpd", "findings: 2 critical"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("text output lacks %q:\n%s", w, text.String())
		}
	}

	var js bytes.Buffer
	if err := Write(&js, FormatJSON, fs); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Findings []map[string]any `json:"findings"`
		Summary  map[string]int   `json:"summary"`
	}
	if err := json.Unmarshal(js.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range rep.Summary {
		total += n
	}
	if len(rep.Findings) != len(fs) || total != len(fs) || len(rep.Summary) != 5 {
		t.Fatalf("json: %d findings, summary %v", len(rep.Findings), rep.Summary)
	}
	for _, f := range rep.Findings {
		for _, k := range []string{"rule", "severity", "container", "reason", "fix"} {
			if s, _ := f[k].(string); s == "" {
				t.Errorf("json finding lacks %s: %v", k, f)
			}
		}
		if _, err := ParseSeverity(f["severity"].(string)); err != nil {
			t.Error(err)
		}
	}

	var sb bytes.Buffer
	if err := Write(&sb, FormatSARIF, fs); err != nil {
		t.Fatal(err)
	}
	checkSARIF(t, sb.Bytes(), len(fs))

	if err := Write(&sb, "xml", fs); err == nil {
		t.Error("unknown format accepted")
	}
	var empty bytes.Buffer
	Write(&empty, FormatText, nil)
	if empty.String() != "no findings\n" {
		t.Errorf("%q", empty.String())
	}
	empty.Reset()
	Write(&empty, FormatSARIF, nil)
	checkSARIF(t, empty.Bytes(), 0)
}

// checkSARIF checks the SARIF 2.1.0 structure code-scanning tools require.
func checkSARIF(t *testing.T, b []byte, results int) {
	t.Helper()
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID               string `json:"id"`
						ShortDescription struct {
							Text string `json:"text"`
						} `json:"shortDescription"`
						Properties map[string]any `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation *struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region *struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
					LogicalLocations []struct {
						Name string `json:"name"`
					} `json:"logicalLocations"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&log); err != nil {
		// Unknown fields are fine for SARIF; retry leniently but the
		// structure above must still decode.
		if err := json.Unmarshal(b, &log); err != nil {
			t.Fatal(err)
		}
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif-2.1.0") || len(log.Runs) != 1 {
		t.Fatalf("sarif header: %s %s %d runs", log.Version, log.Schema, len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name == "" || len(run.Tool.Driver.Rules) != len(Rules) {
		t.Fatalf("driver: %+v", run.Tool.Driver)
	}
	for i, r := range run.Tool.Driver.Rules {
		if r.ID != Rules[i].ID || r.ShortDescription.Text == "" || r.Properties["security-severity"] == nil {
			t.Errorf("rule %d: %+v", i, r)
		}
	}
	if run.Results == nil || len(run.Results) != results {
		t.Fatalf("%d results, want %d", len(run.Results), results)
	}
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("ruleIndex %d does not point at %s", r.RuleIndex, r.RuleID)
		}
		if r.Level != "error" && r.Level != "warning" && r.Level != "note" {
			t.Errorf("level %q", r.Level)
		}
		if r.Message.Text == "" || len(r.Locations) != 1 || len(r.Locations[0].LogicalLocations) != 1 {
			t.Errorf("result %+v", r)
		}
		if p := r.Locations[0].PhysicalLocation; p != nil && (p.ArtifactLocation.URI == "" || p.Region == nil || p.Region.StartLine < 1) {
			t.Errorf("physical location %+v", p)
		}
	}
}

func TestKubernetesShapes(t *testing.T) {
	y := `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          hostNetwork: true
          initContainers:
          - name: setup
            image: busybox
          containers:
          - name: job
            image: busybox
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
  spec:
    containers:
    - name: c
      image: x
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: ds}
  spec:
    template:
      spec:
        hostPID: true
        containers:
        - name: agent
          image: x
`
	cs, err := Load("multi.yaml", []byte(y), "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "CronJob/nightly/setup,CronJob/nightly/job,Pod/p/c,DaemonSet/ds/agent" {
		t.Fatalf("%v", names)
	}
	if !cs[0].HostNet || !cs[3].HostPID || cs[2].HostPID {
		t.Fatalf("pod-level settings: %+v", cs)
	}
	if cs[0].Line != 12 || cs[1].Line != 15 {
		t.Errorf("lines %d %d, want 12 15", cs[0].Line, cs[1].Line)
	}
}

func TestSeverities(t *testing.T) {
	for i, n := range []string{"info", "low", "MEDIUM", " high", "critical"} {
		s, err := ParseSeverity(n)
		if err != nil || s != Severity(i) {
			t.Errorf("%q: %v %v", n, s, err)
		}
	}
	if _, err := ParseSeverity("urgent"); err == nil {
		t.Error("accepted")
	}
	if _, ok := Worst(nil); ok {
		t.Error("worst of nothing")
	}
	if w, _ := Worst([]Finding{{Severity: Low}, {Severity: High}, {Severity: Medium}}); w != High {
		t.Error(w)
	}
	for _, r := range Rules {
		if r.Doc == "" || r.Fix == "" || r.Title == "" || !strings.HasPrefix(r.ID, "BRIG") {
			t.Errorf("rule %s incomplete", r.ID)
		}
	}
	for name := range dangerous {
		capNum(name) // panics on a misspelt name
	}
	var b bytes.Buffer
	if err := WriteRules(&b, FormatText); err != nil || strings.Count(b.String(), "BRIG0") != len(Rules) {
		t.Fatalf("%v\n%s", err, b.String())
	}
}

func FuzzLoad(f *testing.F) {
	for _, name := range []string{"testdata/clean/oci.json", "testdata/clean/docker-inspect.json", "testdata/clean/podman-inspect.json", "testdata/clean/kubernetes.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := Load("fuzz", b, "")
		if err == nil {
			(&Linter{SELinuxEnabled: func() bool { return true }}).Check(cs)
		}
	})
}

func FuzzRunArgs(f *testing.F) {
	f.Add("run --privileged -v /:/host --security-opt label=disable alpine")
	f.Add("run --mount type=bind,src=/etc,dst=/e,ro --device /dev/sda alpine sh")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := FromRunArgs(strings.Fields(s))
		if err == nil {
			(&Linter{SELinuxEnabled: func() bool { return false }}).Check([]Container{c})
		}
	})
}

func TestInspectLines(t *testing.T) {
	data := []byte(readFile(t, "testdata/clean/docker-inspect.json"))
	cs, err := Load("i.json", data, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{3, 22, 28} {
		if cs[i].Line != want {
			t.Errorf("%s at line %d, want %d", cs[i].Name, cs[i].Line, want)
		}
	}
}

func TestCapabilitySeverity(t *testing.T) {
	c, err := FromRunArgs(strings.Fields("run --user 1 --read-only --security-opt no-new-privileges --cap-drop ALL --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add WAKE_ALARM alpine"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Severity{}
	for _, f := range (&Linter{SELinuxEnabled: func() bool { return false }}).Check([]Container{c}) {
		got[strings.Fields(f.Reason)[1]] = f.Severity
		if !strings.Contains(f.Reason, "(added explicitly)") {
			t.Errorf("origin missing: %s", f.Reason)
		}
	}
	want := map[string]Severity{"CAP_SYS_ADMIN:": Critical, "CAP_NET_ADMIN:": High, "CAP_WAKE_ALARM:": Low}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
}

// Real "podman inspect" of three containers made with podman 4.3.1 here:
// one with --cap-add SYS_TIME --cap-drop SETUID, a --privileged "privbox",
// and "joiner" with --network/--pid container:privbox, label=disable and
// -v /etc:/hostetc:ro. The array itself resolves the container: sharing.
func TestRealPodmanInspect(t *testing.T) {
	file := "testdata/fixtures/podman-inspect-real.json"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := Load(file, data, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 || cs[0].Kind != KindPodmanInspect {
		t.Fatalf("%d containers, kind %s", len(cs), cs[0].Kind)
	}
	fs := (&Linter{SELinuxEnabled: func() bool { return false }}).Check(cs)
	got := map[string][]string{}
	for _, f := range fs {
		got[f.Container] = append(got[f.Container], f.Rule)
	}
	want := map[string]string{
		cs[0].Name: "BRIG003 BRIG012 BRIG014 BRIG013",
		"privbox":  "BRIG001 BRIG012 BRIG014 BRIG013",
		"joiner":   "BRIG009 BRIG016 BRIG016 BRIG012 BRIG014 BRIG015 BRIG013",
	}
	for name, rules := range want {
		if strings.Join(got[name], " ") != rules {
			t.Errorf("%s: %v, want %s\n%s", name, got[name], rules, dump(fs))
		}
	}
}
