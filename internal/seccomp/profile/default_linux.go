package profile

import mseccomp "github.com/moby/profiles/seccomp"

// Default returns Docker's default profile (a fresh copy).
func Default() *Profile { return mseccomp.DefaultProfile() }
