package record

// The BPF object and its Go bindings are generated and committed, so
// building brig needs no clang. gen.sh regenerates them and, with -check,
// verifies that the committed files match the sources.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target amd64 -type net_event -type file_event -type cap_key -type range record bpf/record.bpf.c -- -I./bpf -O2 -g -D__TARGET_ARCH_x86 -fdebug-prefix-map=${PWD}=.
