// Command mptcp tries to open an MPTCP socket and prints "ok" or the errno.
package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

func main() {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 262) // IPPROTO_MPTCP
	if err != nil {
		fmt.Println(unix.ErrnoName(err.(unix.Errno)))
		return
	}
	unix.Close(fd)
	fmt.Println("ok")
}
