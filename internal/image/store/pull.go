package store

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PullOption tunes Pull.
type PullOption func(*pullOptions)

type pullOptions struct {
	insecure bool
	remote   []remote.Option
}

// Insecure allows plain http and unverified TLS for the registry. Loopback
// registries (localhost, 127.0.0.1, ::1) get plain http without it.
func Insecure() PullOption { return func(o *pullOptions) { o.insecure = true } }

// WithRemoteOptions passes options (transport, auth) to go-containerregistry.
func WithRemoteOptions(opts ...remote.Option) PullOption {
	return func(o *pullOptions) { o.remote = append(o.remote, opts...) }
}

// Pull fetches ref (for linux and this machine's architecture, when ref is a
// multi-platform index) from its registry and stores it. Progress goes to
// progress, which may be nil; on a terminal it draws bars.
func (s *Store) Pull(ctx context.Context, ref string, progress io.Writer, opts ...PullOption) (*Image, error) {
	var o pullOptions
	for _, opt := range opts {
		opt(&o)
	}
	var nopts []name.Option
	if o.insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	ropts := append([]remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}),
	}, o.remote...)
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	// For an index, the platform's image; the repo digest stays the index's
	// digest, as docker records it.
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	mdigest := desc.Digest.String()
	repo := familiar(r.Context())
	var names []string
	if t, ok := r.(name.Tag); ok {
		names = []string{repo + ":" + t.TagStr()}
	}
	p := newProgress(progress)
	unlock, err := s.lock("gc.lock", false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rec, err := s.addImage(ctx, img, source{remote: true, progress: p, manifest: manifest, digests: []string{repo + "@" + mdigest}})
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	stored, err := s.commit(rec, names)
	if err != nil {
		return nil, err
	}
	p.printf("Digest: %s\n", mdigest)
	return stored, nil
}
