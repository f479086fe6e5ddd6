package runtime

import "strings"

// mountFlag maps an fstab-style option to the flag it sets (clear=false)
// or clears (clear=true).
var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro": {false, 0x1}, "rw": {true, 0x1},
	"nosuid": {false, 0x2}, "suid": {true, 0x2},
	"nodev": {false, 0x4}, "dev": {true, 0x4},
	"noexec": {false, 0x8}, "exec": {true, 0x8},
	"sync": {false, 0x10}, "async": {true, 0x10},
	"remount": {false, 0x20},
	"mand":    {false, 0x40}, "nomand": {true, 0x40},
	"dirsync": {false, 0x80},
	"noatime": {false, 0x400}, "atime": {true, 0x400},
	"nodiratime": {false, 0x800}, "diratime": {true, 0x800},
	"bind": {false, 0x1000}, "rbind": {false, 0x1000 | msRec},
	"relatime": {false, 0x200000}, "norelatime": {true, 0x200000},
	"strictatime": {false, 0x1000000}, "nostrictatime": {true, 0x1000000},
}

// mountOpts is a parsed options list.
type mountOpts struct {
	flags   uintptr // flags to set
	clear   uintptr // flags explicitly cleared (matters when remounting)
	prop    []uintptr
	data    []string
	unknown []string // brig-specific or unsupported options, e.g. "idmap"
}

func parseMountOptions(opts []string) mountOpts {
	var m mountOpts
	for _, o := range opts {
		if f, ok := mountFlags[o]; ok {
			if f.clear {
				m.flags &^= f.flag
				m.clear |= f.flag
			} else {
				m.flags |= f.flag
				m.clear &^= f.flag
			}
			continue
		}
		if p, ok := propagation[o]; ok {
			m.prop = append(m.prop, p)
			continue
		}
		switch o {
		case "tmpcopyup", "z", "Z", "private-volume", "notmpcopyup", "copy-symlink":
			// Engine-level options (podman/crun) with no kernel meaning here.
			continue
		case "idmap", "ridmap":
			m.unknown = append(m.unknown, o)
			continue
		}
		m.data = append(m.data, o)
	}
	return m
}

func (m mountOpts) dataString() string { return strings.Join(m.data, ",") }
