# brig: least-privilege Linux containers.
GO      ?= go
export PATH := /usr/local/go/bin:$(PATH)
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# Static, pure-Go binaries: brig-runtime is started for every container.
GOFLAGS_BUILD = -trimpath -ldflags "-s -w -X main.version=$(VERSION)"
export CGO_ENABLED = 0

.PHONY: build test unit integration lint bpf-check bench demo deps deps-demo clean vmtest

build:
	$(GO) build $(GOFLAGS_BUILD) -o bin/brig ./cmd/brig
	$(GO) build $(GOFLAGS_BUILD) -o bin/brig-runtime ./cmd/brig-runtime
	$(GO) build $(GOFLAGS_BUILD) -o bin/brig-monitor ./cmd/brig-monitor

# Everything CI runs: unit tests, static checks, then the root-only suites.
test: deps build lint bpf-check unit integration vmtest

unit:
	$(GO) test ./...

integration: build
	$(GO) test -tags integration -count=1 -timeout 40m ./...
	# The seccomp compiler checked against libseccomp itself (needs cgo).
	CGO_ENABLED=1 $(GO) test -tags libseccomp -count=1 -run Libseccomp ./internal/seccomp/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	GOOS=darwin $(GO) build ./...
	GOOS=freebsd $(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# The committed eBPF objects must be what Debian's clang builds from the C.
bpf-check:
	internal/record/gen.sh -check

# Debian packages the tests use (see .ci/packages.txt).
deps:
	@.ci/install-packages

# The demo needs far less than the tests (no QEMU, SELinux policy sources,
# podman or clang): its own short list.
deps-demo:
	@.ci/install-packages packages-demo.txt

demo: deps-demo build
	./hack/demo.sh

bench: deps build
	./bench/run.sh

clean:
	rm -rf bin

# The live suite (test/live) in a SELinux-enforcing, cgroup-v2-only QEMU VM
# built from Debian packages (vm/; cached in .cache/vm). VMTEST_ARGS go to
# the test binary, e.g. VMTEST_ARGS='-test.run Cgroup'.
vmtest: deps
	vm/test.sh $(VMTEST_ARGS)
