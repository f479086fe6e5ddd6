package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Load reads one input file and normalises every container in it. kind
// is one of Kinds except KindRun, or "" to detect it from the content.
func Load(name string, data []byte, kind string) ([]Container, error) {
	if kind == "" {
		var err error
		if kind, err = detect(name, data); err != nil {
			return nil, err
		}
	}
	switch kind {
	case KindOCI:
		c, err := FromOCI(name, data)
		if err != nil {
			return nil, err
		}
		return []Container{c}, nil
	case KindDockerInspect, KindPodmanInspect:
		return FromInspect(name, data, kind)
	case KindKubernetes:
		return FromKubernetes(name, data)
	case KindRun:
		return nil, fmt.Errorf("%s: a run command line is given after \"--\", not in a file", name)
	}
	return nil, fmt.Errorf("unknown input kind %q (want one of: oci, docker-inspect, podman-inspect, kubernetes)", kind)
}

// detect tells the input kind from its first bytes and top-level keys.
func detect(name string, data []byte) (string, error) {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(t) == 0 {
		return "", fmt.Errorf("%s: empty input", name)
	}
	switch t[0] {
	case '[':
		var arr []map[string]json.RawMessage
		if err := json.Unmarshal(data, &arr); err != nil {
			return "", jsonError(name, data, err)
		}
		return inspectKind(arr), nil
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return "", jsonError(name, data, err)
		}
		switch {
		case obj["ociVersion"] != nil || (obj["process"] != nil && obj["root"] != nil):
			return KindOCI, nil
		case obj["kind"] != nil || obj["apiVersion"] != nil:
			return KindKubernetes, nil
		case obj["HostConfig"] != nil:
			return inspectKind([]map[string]json.RawMessage{obj}), nil
		}
		return "", fmt.Errorf("%s: JSON is neither an OCI config (ociVersion), inspect output (HostConfig) nor a Kubernetes object (kind)", name)
	}
	return KindKubernetes, nil
}

// inspectKind tells podman's inspect from docker's by podman-only fields.
func inspectKind(arr []map[string]json.RawMessage) string {
	for _, o := range arr {
		for _, k := range []string{"OCIRuntime", "EffectiveCaps", "BoundingCaps", "ImageName", "ConmonPidFile"} {
			if o[k] != nil {
				return KindPodmanInspect
			}
		}
	}
	return KindDockerInspect
}

// jsonError adds line:column to a decoding error.
func jsonError(name string, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return fmt.Errorf("%s: %v", name, err)
	}
	line, col := lineCol(data, int(off))
	return fmt.Errorf("%s:%d:%d: %v", name, line, col, err)
}

func lineCol(data []byte, off int) (int, int) {
	off = min(max(off, 0), len(data))
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}
