// Package layer unpacks image layer tarballs into directories without letting
// a hostile tar escape them, and merges unpacked layers for hosts where
// overlayfs cannot be used.
//
// Every path an entry names is resolved with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS) against the layer directory, so absolute names, ".."
// and symlinks planted earlier in the same tar are refused by the kernel
// rather than by string checks alone.
package layer

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Whiteouts chooses how deletions recorded in a layer are kept on disk.
type Whiteouts int

const (
	// AUFS keeps the tar's own markers: an empty file ".wh.NAME" for a deleted
	// NAME and ".wh..wh..opq" in an opaque directory. Needs no privilege;
	// Apply understands it, overlayfs does not.
	AUFS Whiteouts = iota
	// Overlay writes overlayfs whiteouts: a 0:0 character device for a deleted
	// name and the trusted.overlay.opaque xattr on an opaque directory. Needs
	// CAP_MKNOD and CAP_SYS_ADMIN.
	Overlay
)

func (w Whiteouts) String() string {
	if w == Overlay {
		return "overlay"
	}
	return "aufs"
}

// ParseWhiteouts is the inverse of Whiteouts.String.
func ParseWhiteouts(s string) (Whiteouts, error) {
	switch s {
	case "overlay":
		return Overlay, nil
	case "aufs", "":
		return AUFS, nil
	}
	return 0, fmt.Errorf("unknown whiteout format %q", s)
}

// Options tune Unpack.
type Options struct {
	Whiteouts Whiteouts
	// Privileged: chown entries to the tar's owners and create device nodes.
	// Without it files stay owned by the caller and device nodes are skipped
	// (as rootless engines do), listed in Stats.Skipped.
	Privileged bool
}

// Stats describes what Unpack wrote.
type Stats struct {
	Entries int
	Bytes   int64    // regular file content
	Skipped []string // entries that could not be created without privilege
}

const (
	whPrefix = ".wh."
	whMeta   = ".wh..wh."
	whOpaque = ".wh..wh..opq"
	// The xattr overlayfs reads to hide everything below a directory.
	opaqueXattr = "trusted.overlay.opaque"
)

// ErrUnsafe marks tar entries refused because they would reach outside the
// layer directory.
var ErrUnsafe = errors.New("unsafe path in layer")

// clean validates a tar entry name and returns it relative to the layer root
// ("." for the root itself).
func clean(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty name", ErrUnsafe)
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: %q is absolute", ErrUnsafe, name)
	}
	if strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("%w: %q contains NUL", ErrUnsafe, name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %q has a .. component", ErrUnsafe, name)
		}
	}
	return path.Clean(name), nil
}

// xattrAllowed filters the extended attributes a layer may set. trusted.* is
// refused because trusted.overlay.* would let a layer steer overlayfs
// (redirects, metacopy) outside its own directory; security.selinux belongs
// to the container's label, not the image.
func xattrAllowed(key string) bool {
	switch {
	case strings.HasPrefix(key, "user."):
		return true
	case key == "security.capability",
		key == "system.posix_acl_access", key == "system.posix_acl_default":
		return true
	}
	return false
}
