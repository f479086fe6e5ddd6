// Package wire holds the runtime's own documents: what it sends a
// container's init, and the state it keeps per container. Plain data,
// apart from the runtime, so that internal/specjson can generate their
// codec: they are read and written on the path of every container start.
package wire

import (
	"time"

	"github.com/brigrt/brig/internal/cgroup"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// State is what the runtime persists per container, as state.json.
type State struct {
	ID          string            `json:"id"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Pid         int               `json:"pid"`
	StartTime   uint64            `json:"startTime"` // /proc/PID/stat field 22, guards against pid reuse
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Cgroup      *cgroup.Manager   `json:"cgroup,omitempty"`
	// NsPaths are the namespaces exec joins, in the order it joins them.
	NsPaths map[string]string `json:"nsPaths,omitempty"`
	// Phase is "creating" until create finished; a leftover "creating" state
	// is a create that was interrupted and only delete applies to it.
	Phase string `json:"phase"`
	// Spec is the validated spec; exec, delete and the hooks need it.
	Spec *specs.Spec `json:"spec"`
}

// InitConfig is what the parent sends the init over the sync socket.
type InitConfig struct {
	Trace        bool            `json:"trace,omitempty"`
	ID           string          `json:"id"`
	Exec         bool            `json:"exec,omitempty"` // an exec'd process, not the container's init
	Spec         *InitSpec       `json:"spec"`
	Process      *specs.Process  `json:"process"`
	Bundle       string          `json:"bundle"`
	NoPivot      bool            `json:"noPivot,omitempty"`
	NoNewKeyring bool            `json:"noNewKeyring,omitempty"`
	PreserveFds  int             `json:"preserveFds,omitempty"`
	FifoFd       int             `json:"fifoFd,omitempty"`
	MntNsFd      int             `json:"mntnsFd,omitempty"`    // exec: the container's mount namespace
	CgroupNsFd   int             `json:"cgroupnsFd,omitempty"` // a cgroup namespace to join (see the runtime's initCgroupNS)
	NewUserNS    bool            `json:"newUserns,omitempty"`
	NewNetNS     bool            `json:"newNetns,omitempty"`
	NewCgroupNS  bool            `json:"newCgroupns,omitempty"`
	Cgroup       *cgroup.Manager `json:"cgroup,omitempty"`
	// TimerSlack is the runtime's own timer slack (internal/slack), for
	// the container's process; 0 leaves the init's.
	TimerSlack uint64 `json:"timerSlack,omitempty"`
	// OldKernel is for tests: act as on a kernel without the new mount
	// API, to cover the mount(2) fallback.
	OldKernel bool `json:"oldKernel,omitempty"`
}

// InitSpec is the part of the OCI spec the container's init acts on, with
// the seccomp profile already compiled to BPF. The init gets this rather
// than the whole spec: less to encode, send and decode on every start.
type InitSpec struct {
	Root            specs.Root              `json:"root"`
	Mounts          []specs.Mount           `json:"mounts,omitempty"`
	Hostname        string                  `json:"hostname,omitempty"`
	Domainname      string                  `json:"domainname,omitempty"`
	Annotations     map[string]string       `json:"annotations,omitempty"`
	CreateContainer []specs.Hook            `json:"createContainer,omitempty"`
	StartContainer  []specs.Hook            `json:"startContainer,omitempty"`
	Devices         []specs.LinuxDevice     `json:"devices,omitempty"`
	Sysctl          map[string]string       `json:"sysctl,omitempty"`
	MaskedPaths     []string                `json:"maskedPaths,omitempty"`
	ReadonlyPaths   []string                `json:"readonlyPaths,omitempty"`
	MountLabel      string                  `json:"mountLabel,omitempty"`
	Propagation     string                  `json:"rootfsPropagation,omitempty"`
	Personality     *specs.LinuxPersonality `json:"personality,omitempty"`
	// Seccomp is the compiled filter as struct sock_filter bytes (see
	// seccomp.Program.Bytes); nil means no filter.
	Seccomp      []byte `json:"seccomp,omitempty"`
	SeccompFlags uint   `json:"seccompFlags,omitempty"`
}
