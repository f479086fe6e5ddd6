package store

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// familiar is docker's short form of a repository: "busybox" for
// index.docker.io/library/busybox, the full name for other registries.
func familiar(repo name.Repository) string {
	r := repo.RepositoryStr()
	if repo.RegistryStr() == name.DefaultRegistry {
		return strings.TrimPrefix(r, "library/")
	}
	return repo.RegistryStr() + "/" + r
}

// normalizeTag turns a name with an optional tag into the index key
// "familiar-name:tag".
func normalizeTag(ref string) (string, error) {
	if strings.Contains(ref, "@") {
		return "", fmt.Errorf("%q: a digest reference cannot be used as a tag", ref)
	}
	t, err := name.NewTag(ref)
	if err != nil {
		return "", fmt.Errorf("invalid image name %q: %w", ref, err)
	}
	return familiar(t.Context()) + ":" + t.TagStr(), nil
}

// normalizeDigest turns name@sha256:... into "familiar-name@sha256:...".
func normalizeDigest(ref string) (string, error) {
	d, err := name.NewDigest(ref)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	return familiar(d.Context()) + "@" + d.DigestStr(), nil
}
