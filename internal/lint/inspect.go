package lint

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/brigrt/brig/internal/caps"
)

// inspectJSON is the part of docker/podman inspect output the rules need.
type inspectJSON struct {
	ID     string `json:"Id"`
	Name   string
	Config *struct {
		User string
	}
	HostConfig *struct {
		Privileged     bool
		CapAdd         []string
		CapDrop        []string
		PidMode        string
		IpcMode        string
		NetworkMode    string
		UTSMode        string
		SecurityOpt    []string
		ReadonlyRootfs bool
		Binds          []string
		Devices        []struct {
			PathOnHost string
		}
	}
	Mounts []struct {
		Type        string
		Source      string
		Destination string
		RW          bool
	}
	// podman only
	BoundingCaps []string
	ProcessLabel string
}

// FromInspect normalises "docker inspect" or "podman inspect" output: a
// JSON array of containers (a single object is accepted too).
func FromInspect(name string, data []byte, kind string) ([]Container, error) {
	var arr []inspectJSON
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "{") {
		var one inspectJSON
		if err := json.Unmarshal(data, &one); err != nil {
			return nil, jsonError(name, data, err)
		}
		arr = []inspectJSON{one}
	} else if err := json.Unmarshal(data, &arr); err != nil {
		return nil, jsonError(name, data, err)
	}
	if len(arr) == 0 {
		return nil, fmt.Errorf("%s: the inspect array is empty", name)
	}
	var out []Container
	for i, in := range arr {
		if in.HostConfig == nil {
			return nil, fmt.Errorf("%s: element %d has no HostConfig; is this container inspect output?", name, i)
		}
		c, err := fromInspectOne(name, data, kind, in)
		if err != nil {
			return nil, fmt.Errorf("%s: element %d (%s): %w", name, i, in.Name, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func fromInspectOne(file string, data []byte, kind string, in inspectJSON) (Container, error) {
	hc := in.HostConfig
	c := Container{Kind: kind, File: file, ID: in.ID, Name: strings.TrimPrefix(in.Name, "/"), Joins: map[string]string{}}
	if c.Name == "" {
		c.Name = in.ID
	}
	c.Line = idLine(data, in.ID)
	c.Privileged = hc.Privileged
	switch {
	case c.Privileged:
		c.Caps = caps.Full()
	case kind == KindPodmanInspect && in.BoundingCaps != nil:
		// podman reports the resolved set; trust it over its defaults.
		set, err := caps.FromNames(in.BoundingCaps)
		if err != nil {
			return c, err
		}
		c.Caps = set
		for _, a := range hc.CapAdd {
			c.Added = append(c.Added, caps.Normalize(a))
		}
	default:
		if err := setDockerCaps(&c, hc.CapAdd, hc.CapDrop); err != nil {
			return c, err
		}
	}
	for _, o := range hc.SecurityOpt {
		// Engines write some options brig's command line does not take
		// (apparmor profiles, unmask lists); only the known ones matter.
		if err := applySecurityOpt(&c, o); err != nil && !errors.Is(err, errUnknownOpt) {
			return c, err
		}
	}
	if l := in.ProcessLabel; l != "" && !c.LabelDisabled {
		if strings.Contains(l, ":spc_t:") {
			c.LabelDisabled = true
		}
	}
	for _, ns := range []struct {
		name, val string
		host      *bool
	}{{"pid", hc.PidMode, &c.HostPID}, {"network", hc.NetworkMode, &c.HostNet}, {"ipc", hc.IpcMode, &c.HostIPC}, {"uts", hc.UTSMode, &c.HostUTS}} {
		nsMode(&c, ns.name, ns.val, ns.host)
	}
	c.ReadOnlyRoot = hc.ReadonlyRootfs
	user := ""
	if in.Config != nil {
		user = in.Config.User
	}
	setUser(&c, user)
	if len(in.Mounts) > 0 {
		for _, m := range in.Mounts {
			if m.Type == "bind" {
				c.Mounts = append(c.Mounts, Mount{Source: m.Source, Target: m.Destination, ReadOnly: !m.RW})
			}
		}
	} else {
		for _, b := range hc.Binds {
			if m, ok := parseVolume(b); ok {
				c.Mounts = append(c.Mounts, m)
			}
		}
	}
	for _, d := range hc.Devices {
		c.Devices = append(c.Devices, d.PathOnHost)
	}
	return c, nil
}

// idLine is the line of a container's "Id" key (the id alone may also
// appear in another container's NetworkMode), or 1.
func idLine(data []byte, id string) int {
	if id == "" {
		return 1
	}
	loc := regexp.MustCompile(`"Id"\s*:\s*"` + regexp.QuoteMeta(id) + `"`).FindIndex(data)
	if loc == nil {
		return 1
	}
	l, _ := lineCol(data, loc[0])
	return l
}
