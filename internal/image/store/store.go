// Package store keeps brig's images on disk: image configs and manifests as
// content-addressed blobs, each layer unpacked once into its own directory
// keyed by diff-id, a name→image index, and per-container root filesystems
// (overlayfs over the layer directories, or a plain copy where overlay is
// unavailable).
//
// Layout under the store root:
//
//	index.json              tags and image records (replaced atomically)
//	blobs/sha256/HEX        configs and manifests
//	layers/HEX/{root,meta.json}  unpacked layers, renamed into place when complete
//	containers/ID/          record.json, rootfs/ (+ upper/, work/ for overlay)
//	tmp/                    work in progress; anything here is garbage
//	locks/                  per-layer unpack locks
//	gc.lock, index.lock, mount.lock
//
// Several brig processes may use one store at once. Writers of new content
// hold gc.lock shared; garbage collection holds it exclusively, so it never
// deletes what another process is about to reference. index.lock serializes
// index updates. Everything becomes visible by rename, so a crash leaves at
// worst garbage in tmp/, which the next garbage collection removes.
package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrNotFound is wrapped by errors for images that do not exist.
var ErrNotFound = errors.New("no such image")

// Store is an image store rooted at a directory.
type Store struct {
	root      string
	noOverlay bool // tests: build copied rootfs even as root
}

// Image is a stored image.
type Image struct {
	ID      string   // config digest, "sha256:HEX"
	Tags    []string // familiar "name:tag" forms, sorted
	Digests []string // "name@sha256:..." manifest digests for pulled images
	Layers  []string // diff-ids, bottom first
	Size    int64    // bytes of unpacked file content
	Created time.Time
	Added   time.Time
	// Spec is the image's OCI config; Spec.Config holds Entrypoint, Cmd,
	// Env, WorkingDir, User and Labels.
	Spec ocispec.Image
}

// Config is the runtime part of the image config.
func (i *Image) Config() ocispec.ImageConfig { return i.Spec.Config }

// ShortID is the 12-hex-digit form docker prints.
func (i *Image) ShortID() string { return shortID(i.ID) }

func shortID(id string) string {
	h := strings.TrimPrefix(id, "sha256:")
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}

type record struct {
	ID       string    `json:"id"`
	Layers   []string  `json:"layers"`
	Digests  []string  `json:"digests,omitempty"`
	Manifest string    `json:"manifest,omitempty"` // manifest blob digest, when kept
	Size     int64     `json:"size"`
	Added    time.Time `json:"added"`
}

type index struct {
	Images map[string]*record `json:"images"`
	Tags   map[string]string  `json:"tags"` // "name:tag" -> image ID
}

// Open opens (creating if needed) the store at root. Leftovers of crashed
// processes are cleaned up when no other process is using the store.
func Open(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("image store: empty root directory")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	s := &Store{root: abs}
	for _, d := range []string{"blobs/sha256", "layers", "containers", "tmp", "locks"} {
		if err := os.MkdirAll(s.path(d), 0o700); err != nil {
			return nil, fmt.Errorf("image store: %w", err)
		}
	}
	if unlock, ok, err := s.tryLock("gc.lock"); err == nil && ok {
		s.cleanTmp()
		unlock()
	}
	return s, nil
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

func (s *Store) readIndex() (*index, error) {
	idx := &index{Images: map[string]*record{}, Tags: map[string]string{}}
	data, err := os.ReadFile(s.path("index.json"))
	if errors.Is(err, os.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, idx); err != nil {
		return nil, fmt.Errorf("image index %s is corrupt: %w", s.path("index.json"), err)
	}
	if idx.Images == nil {
		idx.Images = map[string]*record{}
	}
	if idx.Tags == nil {
		idx.Tags = map[string]string{}
	}
	return idx, nil
}

func (s *Store) writeIndex(idx *index) error {
	data, err := json.MarshalIndent(idx, "", "\t")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path("index.json"), data)
}

// updateIndex runs fn on the current index under the index lock and writes
// the result if fn succeeds.
func (s *Store) updateIndex(fn func(*index) error) error {
	unlock, err := s.lock("index.lock", true)
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(idx); err != nil {
		return err
	}
	return s.writeIndex(idx)
}

func (s *Store) image(idx *index, id string) (*Image, error) {
	rec := idx.Images[id]
	if rec == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	raw, err := s.readBlob(id)
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", shortID(id), err)
	}
	img := &Image{ID: id, Layers: rec.Layers, Digests: rec.Digests, Size: rec.Size, Added: rec.Added}
	if err := json.Unmarshal(raw, &img.Spec); err != nil {
		return nil, fmt.Errorf("image %s: config: %w", shortID(id), err)
	}
	if img.Spec.Created != nil {
		img.Created = *img.Spec.Created
	}
	for tag, tid := range idx.Tags {
		if tid == id {
			img.Tags = append(img.Tags, tag)
		}
	}
	sort.Strings(img.Tags)
	return img, nil
}

// isHex reports 1 to 64 lowercase hex digits (a digest or a prefix of one);
// a function rather than a regexp, whose counted repetition is costly to
// compile at every start.
func isHex(h string) bool {
	if len(h) < 1 || len(h) > 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// lookup finds ref in idx. tag is set when ref named a tag.
func (s *Store) lookup(idx *index, ref string) (id, tag string, err error) {
	if ref == "" {
		return "", "", errors.New("empty image reference")
	}
	if t, err := normalizeTag(ref); err == nil {
		if id, ok := idx.Tags[t]; ok {
			return id, t, nil
		}
	}
	if strings.Contains(ref, "@") {
		if d, err := normalizeDigest(ref); err == nil {
			for id, rec := range idx.Images {
				for _, rd := range rec.Digests {
					if rd == d {
						return id, "", nil
					}
				}
			}
		}
	}
	h := strings.TrimPrefix(ref, "sha256:")
	if isHex(h) {
		var found []string
		for id := range idx.Images {
			if strings.HasPrefix(strings.TrimPrefix(id, "sha256:"), h) {
				found = append(found, id)
			}
		}
		if len(found) == 1 {
			return found[0], "", nil
		}
		if len(found) > 1 {
			return "", "", fmt.Errorf("image ID prefix %q is ambiguous: matches %d images", ref, len(found))
		}
	}
	return "", "", fmt.Errorf("%w: %s (see `brig images`, or `brig pull`/`brig load` it)", ErrNotFound, ref)
}

// Resolve finds an image by name[:tag], name@digest, or full or short ID.
func (s *Store) Resolve(ref string) (*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	id, _, err := s.lookup(idx, ref)
	if err != nil {
		return nil, err
	}
	return s.image(idx, id)
}

// List returns all images, newest first.
func (s *Store) List() ([]*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var out []*Image
	for id := range idx.Images {
		img, err := s.image(idx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Tag gives the image src the additional name dst.
func (s *Store) Tag(src, dst string) error {
	t, err := normalizeTag(dst)
	if err != nil {
		return err
	}
	return s.updateIndex(func(idx *index) error {
		id, _, err := s.lookup(idx, src)
		if err != nil {
			return err
		}
		idx.Tags[t] = id
		return nil
	})
}

// Removed reports what RemoveImage did.
type Removed struct {
	Untagged []string
	Deleted  string // image ID, when the image itself went
}

// RemoveImage removes the tag ref names or, when ref is an ID or the last
// tag, the image. An image used by a container (one with a rootfs from
// Mount, or for which inUse returns true; inUse may be nil) or, when named by
// ID, carrying several tags is refused unless force is set. A forced removal
// of an image in use drops the image record; the layers stay until the
// containers using them are removed.
func (s *Store) RemoveImage(ref string, force bool, inUse func(imageID string) bool) (*Removed, error) {
	unlockGC, err := s.lock("gc.lock", true)
	if err != nil {
		return nil, err
	}
	defer unlockGC()
	res := &Removed{}
	err = s.updateIndex(func(idx *index) error {
		id, tag, err := s.lookup(idx, ref)
		if err != nil {
			return err
		}
		var tags []string
		for t, tid := range idx.Tags {
			if tid == id {
				tags = append(tags, t)
			}
		}
		sort.Strings(tags)
		if tag != "" && len(tags) > 1 {
			delete(idx.Tags, tag)
			res.Untagged = []string{tag}
			return nil
		}
		if tag == "" && len(tags) > 1 && !force {
			return fmt.Errorf("image %s is referenced by several names (%s): remove them by name, or use -f",
				shortID(id), strings.Join(tags, ", "))
		}
		if !force {
			users, err := s.containersUsing(id)
			if err != nil {
				return err
			}
			if len(users) == 0 && inUse != nil && inUse(id) {
				users = []string{"(brig container)"}
			}
			if len(users) > 0 {
				return fmt.Errorf("image %s is in use by container %s: remove the container first, or use -f",
					shortID(id), strings.Join(users, ", "))
			}
		}
		for _, t := range tags {
			delete(idx.Tags, t)
		}
		delete(idx.Images, id)
		res.Untagged, res.Deleted = tags, id
		return nil
	})
	if err != nil {
		return nil, err
	}
	if res.Deleted != "" {
		if err := s.gc(); err != nil {
			return res, fmt.Errorf("image removed, but cleaning up its data failed: %w", err)
		}
	}
	return res, nil
}

// gc deletes layers and blobs no image or container references, and all
// temporary files. The caller holds gc.lock exclusively.
// gcWantedFile marks a collection that was skipped; gc removes it.
const gcWantedFile = "gc.wanted"

func (s *Store) gc() error {
	_ = os.Remove(s.path(gcWantedFile))
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	layers, blobs := map[string]bool{}, map[string]bool{}
	for id, rec := range idx.Images {
		blobs[hexOf(id)] = true
		if rec.Manifest != "" {
			blobs[hexOf(rec.Manifest)] = true
		}
		for _, l := range rec.Layers {
			layers[hexOf(l)] = true
		}
	}
	recs, err := s.containerRecords()
	if err != nil {
		return err
	}
	for _, c := range recs {
		for _, l := range c.Layers {
			layers[hexOf(l)] = true
		}
	}
	var errs []error
	ents, _ := os.ReadDir(s.path("layers"))
	for _, e := range ents {
		if !layers[e.Name()] {
			// Rename first, so a crash mid-delete cannot leave a partial
			// directory under a name that means "complete".
			dead := s.path("tmp", "dead-layer-"+e.Name())
			if err := os.Rename(s.path("layers", e.Name()), dead); err != nil {
				errs = append(errs, err)
			}
		}
	}
	ents, _ = os.ReadDir(s.path("blobs", "sha256"))
	for _, e := range ents {
		if !blobs[e.Name()] {
			if err := os.Remove(s.path("blobs", "sha256", e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	s.cleanTmp()
	return errors.Join(errs...)
}

// cleanTmp removes temporary files and lock files; the caller holds gc.lock
// exclusively, so no other process is writing any.
func (s *Store) cleanTmp() {
	for _, d := range []string{"tmp", "locks"} {
		ents, _ := os.ReadDir(s.path(d))
		for _, e := range ents {
			_ = removeAll(s.path(d, e.Name()))
		}
	}
}

func hexOf(digest string) string { return strings.TrimPrefix(digest, "sha256:") }

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func validDigest(d string) bool {
	h, ok := strings.CutPrefix(d, "sha256:")
	return ok && len(h) == 64 && isHex(h)
}

func (s *Store) readBlob(digest string) ([]byte, error) {
	if !validDigest(digest) {
		return nil, fmt.Errorf("invalid digest %q", digest)
	}
	data, err := os.ReadFile(s.path("blobs", "sha256", hexOf(digest)))
	if err != nil {
		return nil, err
	}
	if digestOf(data) != digest {
		return nil, fmt.Errorf("blob %s is corrupt", digest)
	}
	return data, nil
}

func (s *Store) writeBlob(data []byte) (string, error) {
	d := digestOf(data)
	p := s.path("blobs", "sha256", hexOf(d))
	if _, err := os.Stat(p); err == nil {
		return d, nil
	}
	return d, writeFileAtomic(p, data)
}
