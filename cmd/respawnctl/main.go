// Command respawnctl is the operator's client of respawn's control socket.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "respawnctl: not built yet")
	os.Exit(1)
}
