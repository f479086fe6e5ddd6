package store

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/brigrt/brig/internal/image/layer"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImportOptions tune Import.
type ImportOptions struct {
	Config  ocispec.ImageConfig // Cmd, Env, ... of the new image
	Comment string              // recorded in the image history
}

// Import stores a root filesystem tarball (plain, gzip or zstd) as a
// single-layer image, tagged ref unless ref is empty.
func (s *Store) Import(r io.Reader, ref string, opt ImportOptions) (*Image, error) {
	var names []string
	if ref != "" {
		t, err := normalizeTag(ref)
		if err != nil {
			return nil, err
		}
		names = []string{t}
	}
	unlock, err := s.lock("gc.lock", false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	meta, err := s.importLayer(r)
	if err != nil {
		return nil, fmt.Errorf("importing rootfs tarball: %w", err)
	}
	now := time.Now().UTC()
	cfg := ocispec.Image{
		Created:  &now,
		Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config:   opt.Config,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.Digest(meta.DiffID)}},
		History:  []ocispec.History{{Created: &now, CreatedBy: "brig import", Comment: opt.Comment}},
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	id, err := s.writeBlob(raw)
	if err != nil {
		return nil, err
	}
	return s.commit(&record{ID: id, Layers: []string{meta.DiffID}, Size: meta.Size, Added: now}, names)
}

// Load stores the images of a `docker save` archive, an OCI image layout
// archive (either possibly gzip or zstd compressed) or an OCI layout
// directory, under the names the archive gives them.
func (s *Store) Load(path string) ([]*Image, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	unlock, err := s.lock("gc.lock", false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if fi.IsDir() {
		return s.loadLayout(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	plain, compressed, err := decompress(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer plain.Close()
	if !compressed {
		return s.loadFile(path, path)
	}
	return s.loadSpooled(plain, path)
}

// LoadReader is Load for an archive read from r (such as stdin).
func (s *Store) LoadReader(r io.Reader) ([]*Image, error) {
	unlock, err := s.lock("gc.lock", false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	plain, _, err := decompress(r)
	if err != nil {
		return nil, err
	}
	defer plain.Close()
	return s.loadSpooled(plain, "the archive on stdin")
}

// loadSpooled copies r into a temporary file, since archives are read
// with random access.
func (s *Store) loadSpooled(r io.Reader, display string) ([]*Image, error) {
	f, err := os.CreateTemp(s.path("tmp"), "load-*.tar")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", display, err)
	}
	return s.loadFile(f.Name(), display)
}

// loadFile loads the archive at path, naming it display in errors.
func (s *Store) loadFile(path, display string) ([]*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: not a valid tar archive: %w", display, err)
		}
		names[strings.TrimPrefix(hdr.Name, "./")] = true
	}
	f.Close()
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: empty archive", display)
	}
	switch {
	case names["manifest.json"]:
		return s.loadDocker(path, display)
	case names["index.json"] && names["oci-layout"]:
		dir, err := os.MkdirTemp(s.path("tmp"), "oci-")
		if err != nil {
			return nil, err
		}
		defer removeAll(dir)
		if err := extractLayout(path, display, dir); err != nil {
			return nil, err
		}
		return s.loadLayout(dir)
	}
	return nil, fmt.Errorf("%s is neither a docker-save archive (no manifest.json) nor an OCI layout (no index.json and oci-layout); for a root filesystem tarball use `brig import`", display)
}

// extractLayout unpacks an OCI layout archive and insists it holds only
// directories and regular files: a symlink among the blobs would make the
// layout reader pull host files into the store.
func extractLayout(archive, display, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := layer.Unpack(f, dir, layer.Options{}); err != nil {
		return fmt.Errorf("%s: %w", display, err)
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			return fmt.Errorf("%s: OCI layout entry %q is not a regular file", display, rel)
		}
		return nil
	})
}

func (s *Store) loadDocker(path, display string) ([]*Image, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("%s: manifest.json: %w", display, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%s: %w", display, errNoImages)
	}
	var out []*Image
	for i, d := range m {
		var names []string
		for _, t := range d.RepoTags {
			n, err := normalizeTag(t)
			if err != nil {
				return out, fmt.Errorf("%s: image %d: %w", display, i+1, err)
			}
			names = append(names, n)
		}
		var tag *name.Tag
		if len(d.RepoTags) > 0 {
			t, err := name.NewTag(d.RepoTags[0])
			if err != nil {
				return out, fmt.Errorf("%s: image %d: %w", display, i+1, err)
			}
			tag = &t
		} else if len(m) > 1 {
			return out, fmt.Errorf("%s: image %d has no tag; brig loads untagged images only from single-image archives", display, i+1)
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return out, fmt.Errorf("%s: image %d: %w", display, i+1, err)
		}
		rec, err := s.addImage(context.Background(), img, source{})
		if err != nil {
			return out, fmt.Errorf("%s: image %d: %w", display, i+1, err)
		}
		stored, err := s.commit(rec, names)
		if err != nil {
			return out, err
		}
		out = append(out, stored)
	}
	return out, nil
}

// refNames gives the names an OCI index entry carries: containerd's full
// image name, or the OCI ref.name when it is a full name rather than a bare
// tag.
func refNames(ann map[string]string) ([]string, error) {
	n := ann["io.containerd.image.name"]
	if n == "" {
		if r := ann[ocispec.AnnotationRefName]; strings.ContainsAny(r, ":/") {
			n = r
		}
	}
	if n == "" {
		return nil, nil
	}
	t, err := normalizeTag(n)
	if err != nil {
		return nil, err
	}
	return []string{t}, nil
}

func (s *Store) loadLayout(dir string) ([]*Image, error) {
	lp, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("OCI layout: %w", err)
	}
	ii, err := lp.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("OCI layout: %w", err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("OCI layout: index.json: %w", err)
	}
	var out []*Image
	for i, d := range im.Manifests {
		names, err := refNames(d.Annotations)
		if err != nil {
			return out, fmt.Errorf("OCI layout: manifest %d: %w", i+1, err)
		}
		var img v1.Image
		switch {
		case d.MediaType.IsImage():
			img, err = ii.Image(d.Digest)
		case d.MediaType.IsIndex():
			img, err = platformImage(ii, d.Digest)
		default:
			continue // signatures, attestations and other artifacts
		}
		if err != nil {
			return out, fmt.Errorf("OCI layout: manifest %d: %w", i+1, err)
		}
		rec, err := s.addImage(context.Background(), img, source{})
		if err != nil {
			return out, fmt.Errorf("OCI layout: manifest %d: %w", i+1, err)
		}
		stored, err := s.commit(rec, names)
		if err != nil {
			return out, err
		}
		out = append(out, stored)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("OCI layout: %w", errNoImages)
	}
	return out, nil
}

// platformImage picks linux/GOARCH out of a nested multi-platform index.
func platformImage(parent v1.ImageIndex, h v1.Hash) (v1.Image, error) {
	ii, err := parent.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.MediaType.IsImage() && d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH {
			return ii.Image(d.Digest)
		}
	}
	return nil, errors.New("no image for linux/" + runtime.GOARCH + " in the index")
}
