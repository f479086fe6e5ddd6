package capview

import (
	"strings"
)

// Ref names the container a process belongs to.
type Ref struct {
	Engine string `json:"engine"`         // brig, podman, docker, containerd, cri-o, kubepods, or "" if unknown
	ID     string `json:"id"`             // full id as in the cgroup path
	Name   string `json:"name,omitempty"` // brig container name, when known
}

// Short is what a table shows: the brig name, else a docker-style 12-char id.
func (r Ref) Short() string {
	if r.Name != "" {
		return r.Name
	}
	if len(r.ID) > 12 && isHex(r.ID) {
		return r.ID[:12]
	}
	return r.ID
}

// containerdNamespaces are the namespaces containerd names cgroups after when
// it runs with the cgroupfs driver: "/<namespace>/<id>".
var containerdNamespaces = map[string]bool{"default": true, "k8s.io": true, "moby": true}

// Detect finds the container in one cgroup path such as
// "/libpod_parent/libpod-<id>", "/system.slice/docker-<id>.scope",
// "/kubepods/burstable/pod<uid>/<id>" or brig's own "/brig/<id>". When
// containers nest, the innermost wins.
func Detect(cgPath string) (Ref, bool) {
	segs := strings.Split(strings.Trim(cgPath, "/"), "/")
	kube := false
	var found Ref
	ok := false
	for i, s := range segs {
		prev := ""
		if i > 0 {
			prev = segs[i-1]
		}
		if strings.HasPrefix(s, "kubepods") {
			kube = true
		}
		if r, hit := detectSeg(prev, s); hit {
			found, ok = r, true
		}
	}
	if !ok && len(segs) == 2 && containerdNamespaces[segs[0]] && segs[1] != "" {
		// ctr's ids are free-form names, so only this exact shape counts.
		found, ok = Ref{Engine: "containerd", ID: segs[1]}, true
	}
	if ok && kube && found.Engine != "brig" {
		found.Engine = "kubepods"
	}
	return found, ok
}

func detectSeg(prev, s string) (Ref, bool) {
	base := strings.TrimSuffix(s, ".scope")
	for _, p := range []struct{ prefix, engine string }{
		{"libpod-conmon-", ""}, {"crio-conmon-", ""}, // monitors, not containers
		{"libpod-", "podman"},
		{"docker-", "docker"},
		{"cri-containerd-", "containerd"},
		{"crio-", "cri-o"},
	} {
		if id, cut := strings.CutPrefix(base, p.prefix); cut {
			if p.engine == "" || !isID(id) {
				return Ref{}, false
			}
			return Ref{Engine: p.engine, ID: id}, true
		}
	}
	if !isID(s) {
		return Ref{}, false
	}
	switch {
	case prev == "brig":
		return Ref{Engine: "brig", ID: s}, true
	case prev == "docker":
		return Ref{Engine: "docker", ID: s}, true
	case strings.HasPrefix(prev, "pod"):
		return Ref{Engine: "kubepods", ID: s}, true
	}
	// Any other full-length id is still a container; the engine is unknown.
	return Ref{ID: s}, true
}

// FromProcCgroup detects the container from the text of /proc/PID/cgroup
// and returns it with the cgroup path it was found in.
func FromProcCgroup(text string) (Ref, string, bool) {
	for line := range strings.SplitSeq(text, "\n") {
		// hierarchy-ID:controllers:path; the path may itself contain ':'.
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if r, ok := Detect(parts[2]); ok {
			return r, parts[2], true
		}
	}
	return Ref{}, "", false
}

// isID reports a 64-hex container id.
func isID(s string) bool { return len(s) == 64 && isHex(s) }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}
