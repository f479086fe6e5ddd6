//go:build !linux || !amd64

package record

import "github.com/brigrt/brig/internal/profile"

// Recorder is unavailable on this platform.
type Recorder struct{}

// Start fails: the recorder needs Linux on amd64.
func Start(Options) (*Recorder, error) { return nil, ErrUnsupported }

// Stop is never reached.
func (*Recorder) Stop() (*profile.Profile, error) { return nil, ErrUnsupported }

// Stats is never reached.
func (*Recorder) Stats() Stats { return Stats{} }

// Warm does nothing here.
func Warm() {}
