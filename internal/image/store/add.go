package store

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/brigrt/brig/internal/image/layer"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

type layerMeta struct {
	DiffID    string `json:"diffID"`
	Size      int64  `json:"size"`
	Whiteouts string `json:"whiteouts"`
}

// privileged reports whether layers can be unpacked with owners, device
// nodes and overlay whiteouts.
func privileged() bool { return os.Geteuid() == 0 }

func (s *Store) layerDir(diffID string) string { return s.path("layers", hexOf(diffID)) }

func (s *Store) readLayerMeta(diffID string) (*layerMeta, error) {
	data, err := os.ReadFile(filepath.Join(s.layerDir(diffID), "meta.json"))
	if err != nil {
		return nil, err
	}
	m := &layerMeta{}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("layer %s: %w", diffID, err)
	}
	return m, nil
}

func (s *Store) hasLayer(diffID string) bool {
	_, err := s.readLayerMeta(diffID)
	return err == nil
}

// decompress sniffs r's first bytes and undoes gzip or zstd; compressed
// tells whether it did.
func decompress(r io.Reader) (rc io.ReadCloser, compressed bool, err error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		z, err := gzip.NewReader(br)
		return z, true, err
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		z, err := zstd.NewReader(br)
		if err != nil {
			return nil, true, err
		}
		return z.IOReadCloser(), true, nil
	}
	return io.NopCloser(br), false, nil
}

// unpackTemp unpacks the (possibly compressed) layer tar r into a fresh
// directory under tmp/ and returns it with the diff-id of the uncompressed
// stream. The caller removes dir.
func (s *Store) unpackTemp(r io.Reader) (dir, diffID string, meta *layerMeta, err error) {
	tmp, err := os.MkdirTemp(s.path("tmp"), "layer-")
	if err != nil {
		return "", "", nil, err
	}
	defer func() {
		if err != nil {
			removeAll(tmp)
		}
	}()
	root := filepath.Join(tmp, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return "", "", nil, err
	}
	// The container's / when the tar has no "./" entry: 0755 whatever
	// the umask, or non-root users could not reach anything.
	if err := os.Chmod(root, 0o755); err != nil {
		return "", "", nil, err
	}
	plain, _, err := decompress(r)
	if err != nil {
		return "", "", nil, fmt.Errorf("decompressing layer: %w", err)
	}
	defer plain.Close()
	h := sha256.New()
	tee := io.TeeReader(plain, h)
	wh := layer.AUFS
	if privileged() {
		wh = layer.Overlay
	}
	st, err := layer.Unpack(tee, root, layer.Options{Whiteouts: wh, Privileged: privileged()})
	if err != nil {
		return "", "", nil, err
	}
	// The diff-id covers the whole stream, tar padding included; reading to
	// the end also lets a verifying reader underneath check its digest.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return "", "", nil, fmt.Errorf("reading layer: %w", err)
	}
	diffID = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return tmp, diffID, &layerMeta{DiffID: diffID, Size: st.Bytes, Whiteouts: wh.String()}, nil
}

// install renames an unpacked temporary layer into place. The caller holds
// the layer's lock.
func (s *Store) install(tmp string, meta *layerMeta) error {
	data, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "meta.json"), data, 0o600); err != nil {
		return err
	}
	if err := syncFS(tmp); err != nil {
		return err
	}
	dst := s.layerDir(meta.DiffID)
	err = os.Rename(tmp, dst)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
		// A directory without meta.json is not a layer (hasLayer said no,
		// and we hold its lock): move it out of the way and retry.
		if err = os.Rename(dst, tmp+".stale"); err == nil {
			err = os.Rename(tmp, dst)
		}
	}
	if err != nil {
		return fmt.Errorf("installing layer %s: %w", meta.DiffID, err)
	}
	return syncDir(filepath.Dir(dst))
}

// ensureLayer makes sure the layer with diffID is unpacked, opening its
// content with open only if needed. It reports whether it unpacked it.
func (s *Store) ensureLayer(diffID string, open func() (io.ReadCloser, error)) (bool, error) {
	if s.hasLayer(diffID) {
		return false, nil
	}
	// One unpacker per layer at a time, across processes: the others wait
	// and then find it done.
	unlock, err := s.lock(filepath.Join("locks", hexOf(diffID)), true)
	if err != nil {
		return false, err
	}
	defer unlock()
	if s.hasLayer(diffID) {
		return false, nil
	}
	rc, err := open()
	if err != nil {
		return false, err
	}
	defer rc.Close()
	tmp, got, meta, err := s.unpackTemp(rc)
	if err != nil {
		return false, fmt.Errorf("layer %s: %w", shortID(diffID), err)
	}
	defer removeAll(tmp)
	if got != diffID {
		return false, fmt.Errorf("layer %s: content has diff-id %s: the image is corrupt or was tampered with", diffID, got)
	}
	return true, s.install(tmp, meta)
}

// importLayer unpacks a layer whose diff-id is not known in advance.
func (s *Store) importLayer(r io.Reader) (*layerMeta, error) {
	tmp, diffID, meta, err := s.unpackTemp(r)
	if err != nil {
		return nil, err
	}
	defer removeAll(tmp)
	unlock, err := s.lock(filepath.Join("locks", hexOf(diffID)), true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if m, err := s.readLayerMeta(diffID); err == nil {
		return m, nil
	}
	return meta, s.install(tmp, meta)
}

// parseConfig checks an image config enough to store it safely.
func parseConfig(raw []byte) (*ocispec.Image, error) {
	var cfg ocispec.Image
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	if cfg.RootFS.Type != "layers" {
		return nil, fmt.Errorf("image config: rootfs type %q, want \"layers\"", cfg.RootFS.Type)
	}
	for _, d := range cfg.RootFS.DiffIDs {
		if !validDigest(string(d)) {
			return nil, fmt.Errorf("image config: invalid diff-id %q", d)
		}
	}
	return &cfg, nil
}

// source says how to read an image's layers: compressed from a registry
// (with progress), or uncompressed from a local archive.
type source struct {
	remote   bool
	progress *progress
	manifest []byte // kept for pulled images
	digests  []string
}

// addImage stores img's layers and config and returns its record; the
// caller adds it to the index. The caller holds gc.lock shared.
func (s *Store) addImage(ctx context.Context, img v1.Image, src source) (*record, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading image config: %w", err)
	}
	cfg, err := parseConfig(raw)
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading image layers: %w", err)
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("image has %d layers but its config lists %d diff-ids", len(layers), len(cfg.RootFS.DiffIDs))
	}
	rec := &record{ID: digestOf(raw), Digests: src.digests, Added: time.Now().UTC()}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		diffID := string(cfg.RootFS.DiffIDs[i])
		var bar *layerBar
		open := func() (io.ReadCloser, error) {
			if !src.remote {
				return l.Uncompressed()
			}
			size, _ := l.Size()
			bar = src.progress.start(diffID, size)
			rc, err := l.Compressed()
			if err != nil {
				return nil, err
			}
			return bar.wrap(rc), nil
		}
		did, err := s.ensureLayer(diffID, open)
		if bar != nil {
			bar.finish(err)
		}
		if err != nil {
			return nil, err
		}
		if !did {
			src.progress.exists(diffID)
		}
		m, err := s.readLayerMeta(diffID)
		if err != nil {
			return nil, err
		}
		rec.Layers = append(rec.Layers, diffID)
		rec.Size += m.Size
	}
	if _, err := s.writeBlob(raw); err != nil {
		return nil, err
	}
	if src.manifest != nil {
		if rec.Manifest, err = s.writeBlob(src.manifest); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// commit adds rec to the index under names (index keys), moving names that
// pointed elsewhere, and returns the stored image.
func (s *Store) commit(rec *record, names []string) (*Image, error) {
	var img *Image
	err := s.updateIndex(func(idx *index) error {
		if old := idx.Images[rec.ID]; old != nil {
			rec.Added = old.Added
			rec.Digests = mergeStrings(old.Digests, rec.Digests)
			if rec.Manifest == "" {
				rec.Manifest = old.Manifest
			}
		}
		idx.Images[rec.ID] = rec
		for _, n := range names {
			idx.Tags[n] = rec.ID
		}
		var err error
		img, err = s.image(idx, rec.ID)
		return err
	})
	return img, err
}

func mergeStrings(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range append(append([]string{}, a...), b...) {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

var errNoImages = errors.New("archive holds no images")
