package lint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

type kubeObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec  json.RawMessage   `json:"spec"`
	Items []json.RawMessage `json:"items"`
}

type seLinuxOptions struct {
	User, Role, Type, Level string
}

type seccompProfile struct {
	Type string `json:"type"`
}

type podSpec struct {
	HostPID         bool `json:"hostPID"`
	HostIPC         bool `json:"hostIPC"`
	HostNetwork     bool `json:"hostNetwork"`
	SecurityContext *struct {
		RunAsUser      *int64          `json:"runAsUser"`
		RunAsNonRoot   *bool           `json:"runAsNonRoot"`
		SELinuxOptions *seLinuxOptions `json:"seLinuxOptions"`
		SeccompProfile *seccompProfile `json:"seccompProfile"`
	} `json:"securityContext"`
	Containers          []kubeContainer `json:"containers"`
	InitContainers      []kubeContainer `json:"initContainers"`
	EphemeralContainers []kubeContainer `json:"ephemeralContainers"`
	Volumes             []struct {
		Name     string `json:"name"`
		HostPath *struct {
			Path string `json:"path"`
		} `json:"hostPath"`
	} `json:"volumes"`
}

type kubeContainer struct {
	Name            string `json:"name"`
	SecurityContext *struct {
		Privileged   *bool `json:"privileged"`
		Capabilities *struct {
			Add  []string `json:"add"`
			Drop []string `json:"drop"`
		} `json:"capabilities"`
		AllowPrivilegeEscalation *bool           `json:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool           `json:"readOnlyRootFilesystem"`
		RunAsUser                *int64          `json:"runAsUser"`
		RunAsNonRoot             *bool           `json:"runAsNonRoot"`
		SELinuxOptions           *seLinuxOptions `json:"seLinuxOptions"`
		SeccompProfile           *seccompProfile `json:"seccompProfile"`
	} `json:"securityContext"`
	VolumeMounts []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
		ReadOnly  bool   `json:"readOnly"`
	} `json:"volumeMounts"`
}

// FromKubernetes normalises Kubernetes YAML or JSON: Pods, pod templates of
// Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs,
// and Lists of them, in one or more "---" separated documents. Other
// kinds (Services, ConfigMaps) are skipped.
func FromKubernetes(name string, data []byte) ([]Container, error) {
	var out []Container
	for _, d := range splitYAML(data) {
		js, err := yaml.YAMLToJSON(d.text)
		if err != nil {
			return nil, fmt.Errorf("%s: %s", name, shiftYAMLLine(err.Error(), d.line))
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue // an empty document
		}
		cs, err := kubeDoc(name, js, d)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no Pod or workload with containers found", name)
	}
	return out, nil
}

type yamlDoc struct {
	text []byte
	line int // first line of the document in the file
}

// splitYAML cuts a multi-document stream at "---" lines.
func splitYAML(data []byte) []yamlDoc {
	var docs []yamlDoc
	docStart, docLine := 0, 1
	off := 0
	for line := 1; off <= len(data); line++ {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data) + 1
		if end >= 0 {
			end += off
			next = end + 1
		} else {
			end = len(data)
		}
		l := data[off:end]
		if bytes.HasPrefix(l, []byte("---")) && len(bytes.TrimSpace(l[3:])) == 0 {
			docs = append(docs, yamlDoc{text: data[docStart:off], line: docLine})
			docStart, docLine = min(next, len(data)), line+1
		}
		off = next
	}
	return append(docs, yamlDoc{text: data[docStart:], line: docLine})
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// shiftYAMLLine makes a YAML error's line number count from the file start.
func shiftYAMLLine(msg string, docLine int) string {
	return yamlLine.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(strings.TrimPrefix(m, "line "))
		return "line " + strconv.Itoa(n+docLine-1)
	})
}

func kubeDoc(file string, js []byte, d yamlDoc) ([]Container, error) {
	var obj kubeObject
	if err := json.Unmarshal(js, &obj); err != nil {
		return nil, fmt.Errorf("%s: document at line %d: %v", file, d.line, err)
	}
	if obj.Kind == "" {
		return nil, fmt.Errorf("%s: document at line %d has no kind", file, d.line)
	}
	if obj.Kind == "List" || strings.HasSuffix(obj.Kind, "List") {
		var out []Container
		for _, it := range obj.Items {
			cs, err := kubeDoc(file, it, d)
			if err != nil {
				return nil, err
			}
			out = append(out, cs...)
		}
		return out, nil
	}
	var path []string
	switch obj.Kind {
	case "Pod":
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job":
		path = []string{"template", "spec"}
	case "CronJob":
		path = []string{"jobTemplate", "spec", "template", "spec"}
	case "PodTemplate":
		return nil, nil // a template object has no spec; its template is not run as is
	default:
		return nil, nil
	}
	raw := obj.Spec
	for _, k := range path {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m[k] == nil {
			return nil, fmt.Errorf("%s: %s %q at line %d has no spec.%s", file, obj.Kind, obj.Metadata.Name, d.line, strings.Join(path, "."))
		}
		raw = m[k]
	}
	var ps podSpec
	if err := json.Unmarshal(raw, &ps); err != nil {
		return nil, fmt.Errorf("%s: %s %q at line %d: %v", file, obj.Kind, obj.Metadata.Name, d.line, err)
	}
	var out []Container
	all := append(append(append([]kubeContainer(nil), ps.InitContainers...), ps.Containers...), ps.EphemeralContainers...)
	for _, kc := range all {
		c, err := kubeContainerModel(file, d, obj, &ps, kc)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func kubeContainerModel(file string, d yamlDoc, obj kubeObject, ps *podSpec, kc kubeContainer) (Container, error) {
	c := Container{Kind: KindKubernetes, File: file, Name: obj.Kind + "/" + obj.Metadata.Name + "/" + kc.Name, Joins: map[string]string{}}
	c.Line = d.line + lineInDoc(d.text, kc.Name) - 1
	c.HostPID, c.HostIPC, c.HostNet = ps.HostPID, ps.HostIPC, ps.HostNetwork

	var runAsUser *int64
	var nonRoot *bool
	var se *seLinuxOptions
	var sc *seccompProfile
	if p := ps.SecurityContext; p != nil {
		runAsUser, nonRoot, se, sc = p.RunAsUser, p.RunAsNonRoot, p.SELinuxOptions, p.SeccompProfile
	}
	var add, drop []string
	if s := kc.SecurityContext; s != nil {
		c.Privileged = s.Privileged != nil && *s.Privileged
		if s.Capabilities != nil {
			add, drop = s.Capabilities.Add, s.Capabilities.Drop
		}
		// Kubernetes: escalation is allowed unless explicitly false.
		c.NoNewPrivs = s.AllowPrivilegeEscalation != nil && !*s.AllowPrivilegeEscalation && !c.Privileged
		c.ReadOnlyRoot = s.ReadOnlyRootFilesystem != nil && *s.ReadOnlyRootFilesystem
		// Container settings override the pod's.
		if s.RunAsUser != nil {
			runAsUser = s.RunAsUser
		}
		if s.RunAsNonRoot != nil {
			nonRoot = s.RunAsNonRoot
		}
		if s.SELinuxOptions != nil {
			se = s.SELinuxOptions
		}
		if s.SeccompProfile != nil {
			sc = s.SeccompProfile
		}
	}
	if err := setDockerCaps(&c, add, drop); err != nil {
		return c, fmt.Errorf("%s: container %q: %w", file, kc.Name, err)
	}
	switch {
	case runAsUser != nil:
		c.User = strconv.FormatInt(*runAsUser, 10)
		c.Root = *runAsUser == 0
	case nonRoot != nil && *nonRoot:
		c.User = "non-root" // the kubelet refuses to start a root user
	default:
		c.Root = true
	}
	if se != nil {
		for _, kv := range [][2]string{{"user", se.User}, {"role", se.Role}, {"type", se.Type}, {"level", se.Level}} {
			if kv[1] != "" {
				applyLabel(&c, kv[0]+":"+kv[1])
			}
		}
	}
	switch {
	case sc == nil:
		c.SeccompUnconfined = true
		c.SeccompWhy = "no seccompProfile, which is Unconfined unless the kubelet runs with --seccomp-default"
	case sc.Type == "Unconfined":
		c.SeccompUnconfined = true
	}
	hostPaths := map[string]string{}
	for _, v := range ps.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	for _, vm := range kc.VolumeMounts {
		if p, ok := hostPaths[vm.Name]; ok {
			c.Mounts = append(c.Mounts, Mount{Source: p, Target: vm.MountPath, ReadOnly: vm.ReadOnly})
		}
	}
	return c, nil
}

// lineInDoc finds the "name: NAME" line of a container in a document
// (1-based), or 1.
func lineInDoc(doc []byte, name string) int {
	if name == "" {
		return 1
	}
	q := `name:\s*["']?` + regexp.QuoteMeta(name) + `["']?\s*$`
	// A list item ("- name: web") is a container; a bare "name: web" may
	// be the workload's metadata, so it only counts when nothing else does.
	loc := regexp.MustCompile(`(?m)^\s*-\s*` + q).FindIndex(doc)
	if loc == nil {
		loc = regexp.MustCompile(`(?m)^\s*` + q).FindIndex(doc)
	}
	if loc == nil {
		return 1
	}
	l, _ := lineCol(doc, loc[0])
	return l
}
