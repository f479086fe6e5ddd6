// Package cgroup places a container's processes in cgroups (v1, v2 and
// hybrid hosts) and applies the spec's resource limits.
//
// It is written for brig-runtime, which starts for every container: it
// reads and writes cgroupfs files directly. opencontainers/cgroups does
// the same work but links in D-Bus, net, crypto and logrus through its
// systemd types, which made every runtime process (and every container's
// init) a megabyte bigger and slower to start.
package cgroup

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Root is where cgroupfs is mounted; tests point it elsewhere.
var Root = "/sys/fs/cgroup"

// Manager is one container's cgroup on every hierarchy.
type Manager struct {
	// Path is the container's cgroup path, e.g. /brig/ID.
	Path string `json:"path"`
	// V1 maps each v1 controller ("memory", "cpu", "name=systemd", ...)
	// to the container's directory in that hierarchy.
	V1 map[string]string `json:"paths,omitempty"`
	// V2 is the directory on the unified hierarchy: the only one on a v2
	// host, the controller-less tracking one on a hybrid host.
	V2 string `json:"v2,omitempty"`
}

// DefaultAllows are the devices every container keeps whatever its rules
// say (runc's AllowedDevices): null, zero, full, tty, random, urandom,
// ptmx and the pty slaves.
var DefaultAllows = []specs.LinuxDeviceCgroup{
	dev('c', 1, 3), dev('c', 1, 5), dev('c', 1, 7), dev('c', 5, 0),
	dev('c', 1, 8), dev('c', 1, 9), dev('c', 5, 2), dev('c', 136, -1),
}

func dev(t byte, major, minor int64) specs.LinuxDeviceCgroup {
	r := specs.LinuxDeviceCgroup{Allow: true, Type: string(t), Major: &major, Access: "rwm"}
	if minor >= 0 {
		r.Minor = &minor
	}
	return r
}

// ruleString renders a rule as devices.allow wants it: "c 1:3 rwm".
func ruleString(r specs.LinuxDeviceCgroup) (string, error) {
	t := r.Type
	if t == "" {
		t = "a"
	}
	if t != "a" && t != "b" && t != "c" {
		return "", fmt.Errorf("device rule: unknown type %q", r.Type)
	}
	num := func(p *int64) string {
		if p == nil || *p < 0 {
			return "*"
		}
		return i64(*p)
	}
	access := r.Access
	if access == "" {
		access = "rwm"
	}
	if strings.Trim(access, "rwm") != "" {
		return "", fmt.Errorf("device rule: bad access %q", r.Access)
	}
	return t + " " + num(r.Major) + ":" + num(r.Minor) + " " + access, nil
}

func i64(v int64) string { return strconv.FormatInt(v, 10) }
