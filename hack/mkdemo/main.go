// Command mkdemo writes brig's offline demo image, a busybox rootfs built
// from Debian's busybox-static, as a docker-save archive that
// `brig load -i` reads:
//
//	go run ./hack/mkdemo -o brig-demo.tar
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/brigrt/brig/internal/testimage"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	out := flag.String("o", "brig-demo.tar", "archive to write")
	tag := flag.String("t", testimage.Name, "image name")
	flag.Parse()
	if err := run(*out, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "mkdemo:", err)
		os.Exit(1)
	}
}

func run(out, tag string) error {
	t, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	img, err := testimage.Image()
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, t, img)
}
