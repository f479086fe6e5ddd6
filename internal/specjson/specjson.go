// Package specjson reads and writes the OCI runtime spec and the runtime's
// own documents (the init's config, state.json) without reflection, for
// the start of every container.
//
// encoding/json builds and caches a codec for each type the first time it
// meets it. specs.Spec reaches some 60 struct types, so a fresh process,
// which brig-runtime and its container init always are, paid about 1 ms
// of CPU to decode a 2 KB config.json; decoding it again in the same
// process took 50 µs. The code here is generated from the types (see gen/)
// and keeps encoding/json's contract, which the tests hold it to:
//   - decoding accepts and rejects what json.Unmarshal does and fills the
//     value the same way (case-insensitive keys, merging of keys given
//     twice, null leaving strings and numbers alone);
//   - encoding writes json.Marshal's bytes exactly.
package specjson

//go:generate go run ./gen -o codec_gen.go

import (
	"github.com/brigrt/brig/internal/runtime/wire"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DecodeSpec decodes a config.json document into s, as json.Unmarshal would.
func DecodeSpec(data []byte, s *specs.Spec) error {
	return decode(data, func(d *decoder) { decSpecsSpec(d, s) })
}

// EncodeSpec encodes s as json.Marshal would.
func EncodeSpec(s *specs.Spec) ([]byte, error) {
	return encode(func(e *encoder) { encSpecsSpec(e, s) })
}

// DecodeInit decodes the init's config into c, as json.Unmarshal would.
func DecodeInit(data []byte, c *wire.InitConfig) error {
	return decode(data, func(d *decoder) { decWireInitConfig(d, c) })
}

// EncodeInit encodes c as json.Marshal would.
func EncodeInit(c *wire.InitConfig) ([]byte, error) {
	return encode(func(e *encoder) { encWireInitConfig(e, c) })
}

// DecodeState decodes a state.json document into s, as json.Unmarshal would.
func DecodeState(data []byte, s *wire.State) error {
	return decode(data, func(d *decoder) { decWireState(d, s) })
}

// EncodeState encodes s as json.Marshal would.
func EncodeState(s *wire.State) ([]byte, error) {
	return encode(func(e *encoder) { encWireState(e, s) })
}
