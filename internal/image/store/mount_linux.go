package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/brigrt/brig/internal/image/layer"
	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"
)

// Mount prepares the root filesystem of container id from img and returns
// its path. With root privileges and overlayfs it is an overlay mount of the
// image's layer directories under a private upper directory; otherwise the
// layers are copied into a plain directory. Calling Mount again for the same
// container returns the same rootfs (remounting it after Unmount or a
// reboot), with the container's changes intact.
func (s *Store) Mount(img *Image, id string, opts ...MountOption) (string, error) {
	var o mountOptions
	for _, opt := range opts {
		opt(&o)
	}
	if strings.ContainsAny(o.label, "\"\n") {
		return "", fmt.Errorf("invalid mount label %q", o.label)
	}
	if !selinux.GetEnabled() {
		o.label = "" // context= would make the mount fail on a host without SELinux
	}
	if err := checkContainerID(id); err != nil {
		return "", err
	}
	unlockGC, err := s.lock("gc.lock", false)
	if err != nil {
		return "", err
	}
	defer unlockGC()
	unlock, err := s.lock("mount.lock", true)
	if err != nil {
		return "", err
	}
	defer unlock()
	cdir := s.containerDir(id)
	rootfs := filepath.Join(cdir, "rootfs")

	rec, err := s.readContainer(id)
	fresh := errors.Is(err, os.ErrNotExist)
	switch {
	case err == nil:
		if rec.Image != img.ID {
			return "", fmt.Errorf("container %s already has a rootfs from image %s", id, shortID(rec.Image))
		}
	case errors.Is(err, os.ErrNotExist):
		rec, err = s.newContainer(img, id)
		if err != nil {
			return "", err
		}
	default:
		return "", err
	}
	if rec.Mode == modeOverlay {
		if o.label != "" {
			if err := s.labelLayers(rec.Layers); err != nil {
				return "", err
			}
		}
		err := s.mountOverlay(cdir, rec.Layers, o.label)
		if err == nil {
			return rootfs, nil
		}
		if !fresh || !overlayUnavailable(err) {
			// An existing container's changes live in its upper
			// directory: never trade them for a fresh copy.
			return "", err
		}
		// Fall back for good: the copy is the container's rootfs from now on.
		for _, d := range []string{"upper", "work"} {
			if err := removeAll(filepath.Join(cdir, d)); err != nil {
				return "", err
			}
		}
		rec.Mode = modeCopy
		if err := s.writeContainer(id, rec); err != nil {
			return "", err
		}
		// The empty mount point would pass for a finished copy.
		if err := os.Remove(rootfs); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	if _, err := os.Lstat(rootfs); err == nil {
		return rootfs, nil
	}
	return rootfs, s.copyLayers(cdir, rec.Layers)
}

// layerFileLabel is what every container may read and execute: the
// layers are shared, so they carry no MCS categories (podman labels its
// storage the same way). Without it, overlayfs checks the lower files'
// own label (var_lib_t) and the container may not even run its command.
const layerFileLabel = "system_u:object_r:container_file_t:s0"

// labelLayers labels each layer once; a marker beside the layer records it.
func (s *Store) labelLayers(layers []string) error {
	for _, d := range layers {
		dir := s.layerDir(d)
		mark := dir + ".labeled"
		if _, err := os.Stat(mark); err == nil {
			continue
		}
		if err := selinux.Chcon(dir, layerFileLabel, true); err != nil {
			return fmt.Errorf("label layer %s: %w", d, err)
		}
		if err := os.WriteFile(mark, nil, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) newContainer(img *Image, id string) (*containerRecord, error) {
	mode := modeOverlay
	if !privileged() || s.noOverlay || strings.ContainsAny(s.root, ",:") {
		mode = modeCopy
	}
	for _, l := range img.Layers {
		m, err := s.readLayerMeta(l)
		if err != nil {
			return nil, fmt.Errorf("image %s: layer %s is missing from the store: %w", shortID(img.ID), shortID(l), err)
		}
		if w, _ := layer.ParseWhiteouts(m.Whiteouts); w != layer.Overlay {
			mode = modeCopy // unpacked without privilege: overlay would miss its whiteouts
		}
	}
	rec := &containerRecord{Image: img.ID, Layers: img.Layers, Mode: mode}
	if err := os.MkdirAll(s.containerDir(id), 0o700); err != nil {
		return nil, err
	}
	return rec, s.writeContainer(id, rec)
}

func (s *Store) writeContainer(id string, rec *containerRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	// Not synced: this is on the path of every `brig run`, and a record lost
	// to a power cut is rewritten by the next Mount of the container.
	return writeFile(filepath.Join(s.containerDir(id), "record.json"), data, false)
}

func overlayUnavailable(err error) bool {
	return errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM) ||
		errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, errTooManyLayers)
}

var errTooManyLayers = errors.New("this kernel cannot mount that many overlay layers")

func (s *Store) mountOverlay(cdir string, layers []string, label string) error {
	rootfs := filepath.Join(cdir, "rootfs")
	if ok, err := mountinfo.Mounted(rootfs); err == nil && ok {
		return nil
	}
	upper, work := filepath.Join(cdir, "upper"), filepath.Join(cdir, "work")
	for _, d := range []string{upper, work, rootfs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// Top layer first. A layer that recurs keeps only its topmost place:
	// overlayfs refuses a directory twice, and the upper copy already
	// redoes everything the lower one did.
	var lower []string
	seen := map[string]bool{}
	for i := len(layers) - 1; i >= 0; i-- {
		if !seen[layers[i]] {
			seen[layers[i]] = true
			lower = append(lower, filepath.Join(s.layerDir(layers[i]), "root"))
		}
	}
	if len(lower) == 0 {
		// overlayfs needs a lower layer; an image without layers gets an
		// empty one.
		empty := filepath.Join(cdir, "empty")
		if err := os.MkdirAll(empty, 0o755); err != nil {
			return err
		}
		lower = []string{empty}
	} else {
		// The merged root directory takes its owner and mode from upper:
		// give it the image's.
		var st unix.Stat_t
		if err := unix.Stat(lower[0], &st); err != nil {
			return err
		}
		if err := os.Lchown(upper, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
		if err := unix.Chmod(upper, st.Mode&0o7777); err != nil {
			return err
		}
	}
	data := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work
	if label != "" {
		data += ",context=\"" + label + "\""
	}
	if len(data) >= os.Getpagesize() {
		// mount(2) takes one page of options; name the layers one by one
		// through the mount API instead (lowerdir+, Linux 6.8).
		return mountOverlayFD(rootfs, lower, upper, work, label)
	}
	if err := unix.Mount("overlay", rootfs, "overlay", 0, data); err != nil {
		return fmt.Errorf("mounting overlay rootfs: %w", err)
	}
	return nil
}

func mountOverlayFD(rootfs string, lower []string, upper, work, label string) error {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("%w: fsopen: %w", errTooManyLayers, err)
	}
	defer unix.Close(fd)
	for _, l := range lower {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			// Kernels before 6.8 know no lowerdir+.
			return fmt.Errorf("%w: lowerdir+: %w", errTooManyLayers, err)
		}
	}
	opts := [][2]string{{"upperdir", upper}, {"workdir", work}}
	if label != "" {
		opts = append(opts, [2]string{"context", label})
	}
	for _, kv := range opts {
		if err := unix.FsconfigSetString(fd, kv[0], kv[1]); err != nil {
			return fmt.Errorf("overlay option %s: %w", kv[0], err)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("creating overlay rootfs: %w", err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fsmount overlay rootfs: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, rootfs, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attaching overlay rootfs: %w", err)
	}
	return nil
}

// copyLayers builds a plain-directory rootfs, the fallback for hosts
// without overlayfs. It is built aside and renamed, so a crash never leaves
// a half-copied rootfs under the name Mount returns.
func (s *Store) copyLayers(cdir string, layers []string) error {
	tmp := filepath.Join(cdir, "rootfs.tmp")
	if err := removeAll(tmp); err != nil {
		return err
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return err
	}
	for _, l := range layers {
		if err := layer.Apply(filepath.Join(s.layerDir(l), "root"), tmp, privileged()); err != nil {
			return fmt.Errorf("copying layer %s: %w", shortID(l), err)
		}
	}
	if err := syncFS(tmp); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(cdir, "rootfs"))
}

// Unmount unmounts container id's overlay rootfs, keeping its changes for a
// later Mount. It does nothing for copied rootfs or unknown containers.
func (s *Store) Unmount(id string) error {
	if err := checkContainerID(id); err != nil {
		return err
	}
	unlock, err := s.lock("mount.lock", true)
	if err != nil {
		return err
	}
	defer unlock()
	return unmount(filepath.Join(s.containerDir(id), "rootfs"))
}

func unmount(p string) error {
	// Loop for stacked mounts; bounded in case mountinfo and umount disagree.
	for range 16 {
		ok, err := mountinfo.Mounted(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if !ok {
			return nil
		}
		err = unix.Unmount(p, 0)
		if errors.Is(err, unix.EBUSY) {
			// Something still has a file open in it: detach now, the
			// kernel frees it when the last user goes.
			err = unix.Unmount(p, unix.MNT_DETACH)
		}
		if errors.Is(err, unix.EINVAL) {
			return nil // not a mount point after all
		}
		if err != nil {
			return fmt.Errorf("unmounting %s: %w", p, err)
		}
	}
	return fmt.Errorf("unmounting %s: still mounted", p)
}

// Remove unmounts and deletes container id's rootfs and its changes, then
// frees layers that nothing references any more. Removing an unknown
// container is not an error.
func (s *Store) Remove(id string) error {
	if err := checkContainerID(id); err != nil {
		return err
	}
	rec, _ := s.readContainer(id) // what it pinned, read before it goes
	if err := s.removeContainer(id); err != nil {
		return err
	}
	// A collection reads every container's record, which made rm -f
	// slower the more containers there were. It only has work when this
	// container held layers no image holds any more (its image was removed
	// under it), or when an earlier one was skipped.
	if !s.gcWanted(rec) {
		return nil
	}
	if unlock, ok, err := s.tryLock("gc.lock"); err == nil && ok {
		defer unlock()
		return s.gc()
	}
	// Someone else holds the lock: leave the collection to the next
	// removal (or rmi) rather than wait.
	_ = os.WriteFile(s.path(gcWantedFile), nil, 0o600)
	return nil
}

// gcWanted reports whether removing the container whose record was rec
// (nil: unknown) can have left anything for gc.
func (s *Store) gcWanted(rec *containerRecord) bool {
	if rec == nil {
		return true
	}
	if _, err := os.Stat(s.path(gcWantedFile)); err == nil {
		return true
	}
	idx, err := s.readIndex()
	if err != nil {
		return true
	}
	held := map[string]bool{}
	for _, r := range idx.Images {
		for _, l := range r.Layers {
			held[hexOf(l)] = true
		}
	}
	for _, l := range rec.Layers {
		if !held[hexOf(l)] {
			return true
		}
	}
	return false
}

func (s *Store) removeContainer(id string) error {
	unlockGC, err := s.lock("gc.lock", false)
	if err != nil {
		return err
	}
	defer unlockGC()
	unlock, err := s.lock("mount.lock", true)
	if err != nil {
		return err
	}
	cdir := s.containerDir(id)
	if err := unmount(filepath.Join(cdir, "rootfs")); err != nil {
		unlock()
		return err
	}
	dead, err := os.MkdirTemp(s.path("tmp"), "dead-container-")
	if err == nil {
		err = os.Rename(cdir, filepath.Join(dead, id))
	}
	unlock()
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if dead != "" {
		if rerr := removeAll(dead); err == nil {
			err = rerr
		}
	}
	return err
}
