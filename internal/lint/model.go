// Package lint judges a container's configuration before it runs. Every
// input (a docker/brig run command line, an OCI config.json, docker or
// podman inspect JSON, Kubernetes workload YAML) is first normalised into
// Container, then the rules in Rules look only at that model, so a rule
// behaves the same whatever the input was.
package lint

import (
	"fmt"
	"strings"

	"github.com/brigrt/brig/internal/caps"
)

// Input kinds.
const (
	KindRun           = "run"
	KindOCI           = "oci"
	KindDockerInspect = "docker-inspect"
	KindPodmanInspect = "podman-inspect"
	KindKubernetes    = "kubernetes"
)

// Kinds lists the input kinds in a stable order.
var Kinds = []string{KindRun, KindOCI, KindDockerInspect, KindPodmanInspect, KindKubernetes}

// Container is the security-relevant configuration of one container,
// whatever it was read from.
type Container struct {
	Name string // container name (k8s: workload/container)
	ID   string // engine id when the input has one
	Kind string
	File string // input file; "" for a command line
	Line int    // 1-based line where the container is defined; 0 unknown

	Privileged bool
	// Caps is every capability the container's processes can hold: the
	// bounding set, or Docker's add/drop rules applied to the engine default.
	Caps caps.Set
	// Added are the capabilities asked for explicitly (canonical names, or
	// "ALL"), so findings can say where a capability came from.
	Added []string

	HostPID, HostIPC, HostNet, HostUTS bool
	// Joins maps a namespace ("pid", "network", "ipc", "uts") to the
	// container (name or id) or namespace path it is shared with.
	Joins map[string]string

	LabelDisabled bool // SELinux separation turned off (label=disable, spc_t)
	// NoLabel means the runtime is given no SELinux label at all (an OCI
	// config); on an SELinux host that is the same as label=disable.
	NoLabel bool
	Labels  []string // SELinux settings asked for (type:..., level:..., a full label)

	SeccompUnconfined bool
	SeccompWhy        string // why it counts as unconfined, when not obvious
	NoNewPrivs        bool
	ReadOnlyRoot      bool

	// User is the user the process runs as, as written ("" = image default).
	User string
	// Root is true when the process runs as uid 0 or may (no user given).
	Root bool

	Mounts  []Mount
	Devices []string // host device paths
}

// Mount is a host path made visible in the container.
type Mount struct {
	Source, Target string
	ReadOnly       bool
}

// Severity orders findings.
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var sevNames = []string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s >= 0 && int(s) < len(sevNames) {
		return sevNames[s]
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText writes the lower-case name in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeverity reads "info", "low", "medium", "high" or "critical".
func ParseSeverity(s string) (Severity, error) {
	for i, n := range sevNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of: %s)", s, strings.Join(sevNames, ", "))
}

// Finding is one rule firing on one container.
type Finding struct {
	Rule      string   `json:"rule"`
	CIS       string   `json:"cis,omitempty"`
	Severity  Severity `json:"severity"`
	Container string   `json:"container"`
	File      string   `json:"file,omitempty"`
	Line      int      `json:"line,omitempty"`
	Reason    string   `json:"reason"`
	Fix       string   `json:"fix"`
}
