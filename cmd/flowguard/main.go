// Command flowguard is machine-learning network intrusion detection in one
// binary: packets and HTTP events to flows, features, models, verdicts and
// alerts. All behaviour lives in internal/cli and the packages below it.
package main

import (
	"os"

	"github.com/flowguard/flowguard/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
