package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/brigrt/brig/internal/container"
	"github.com/brigrt/brig/internal/monitor"
	"github.com/brigrt/brig/internal/profile"
	"github.com/brigrt/brig/internal/profile/export"
	"github.com/brigrt/brig/internal/record"
	"github.com/brigrt/brig/internal/spec"
	"github.com/brigrt/brig/internal/trace"
)

// ApplyProfile turns a recorded least-privilege profile into run options:
// exactly the capabilities it used, a seccomp allow-list of its syscalls
// (written under dir, which must outlive the container's creation), and
// Landlock rules for its ports and written paths. Options the user gave
// explicitly for the same things are an error, not silently overridden.
func ApplyProfile(o *spec.Options, path, dir string) ([]string, error) {
	p, err := profile.Load(path)
	if err != nil {
		return nil, err
	}
	if len(o.CapAdd) > 0 || len(o.CapDrop) > 0 || o.Privileged {
		return nil, errors.New("--profile sets the capabilities; drop --cap-add, --cap-drop and --privileged")
	}
	ll := export.Landlock(p)
	sc, warnings, err := export.SeccompJSON(p, export.SeccompOptions{BlockMPTCP: ll.Net != nil})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "seccomp-*.json")
	if err != nil {
		return nil, err
	}
	_, err = f.Write(sc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	o.CapDrop = []string{"ALL"}
	o.CapAdd = append([]string(nil), p.Used()...)
	o.SecurityOpt = append(o.SecurityOpt, "seccomp="+f.Name(), "landlock="+ll.String())
	return warnings, nil
}

// RecordAttached runs a created container in this process under the eBPF
// recorder and writes what it used to profilePath.
func (e *Engine) RecordAttached(r *container.Record, att monitor.Attach, profilePath string) (container.Exit, *profile.Profile, error) {
	cfg := e.monitorConfig(r)
	cfg.OnExit = nil
	m, err := monitor.Create(cfg, att)
	if err != nil {
		return container.Exit{}, nil, err
	}
	st, err := e.Runtime.Store.Load(r.ID)
	if err != nil || st.Cgroup == nil || st.Cgroup.V2 == "" {
		_ = e.Runtime.Delete(r.ID, true)
		return container.Exit{}, nil, errors.New("record: the container has no cgroup v2 directory to filter on")
	}
	// Attached before start, counting from the container's first execve
	// (the runtime's own setup is not the container's doing); an --init
	// exec of the runtime binary does not count either.
	rec, err := record.Start(record.Options{Cgroup: st.Cgroup.V2, SkipExec: e.RuntimeBin, Command: r.Command})
	if err != nil {
		_ = e.Runtime.Delete(r.ID, true)
		return container.Exit{}, nil, err
	}
	trace.Mark("engine: recorder attached")
	if err := m.Start(); err != nil {
		_, _ = rec.Stop()
		_ = e.Runtime.Delete(r.ID, true)
		return container.Exit{}, nil, err
	}
	x := m.Wait()
	p, err := rec.Stop()
	if err != nil {
		return x, nil, err
	}
	if err := os.MkdirAll(filepath.Dir(profilePath), 0o755); err != nil {
		return x, p, err
	}
	if err := p.Write(profilePath); err != nil {
		return x, p, fmt.Errorf("write profile: %w", err)
	}
	return x, p, nil
}
