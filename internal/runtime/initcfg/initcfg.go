// Package initcfg holds what the runtime sends a container's init: plain
// data, apart from the runtime, so that internal/specjson can generate
// its codec (the init decodes it on the path of every container start).
package initcfg

import (
	"github.com/brigrt/brig/internal/cgroup"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Config is what the parent sends the init over the sync socket.
type Config struct {
	Trace        bool            `json:"trace,omitempty"`
	ID           string          `json:"id"`
	Exec         bool            `json:"exec,omitempty"` // an exec'd process, not the container's init
	Spec         *Spec           `json:"spec"`
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
}

// Spec is the part of the OCI spec the container's init acts on, with the
// seccomp profile already compiled to BPF. The init gets this rather than
// the whole spec: less to encode, send and decode on every start.
type Spec struct {
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
