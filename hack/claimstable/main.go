// Command claimstable prints the README's table of claims from the
// chapters' descriptors: go run ./hack/claimstable.
package main

import (
	"fmt"

	"github.com/kiamol-e2e/kiamol-e2e/chapters"
)

func main() { fmt.Print(chapters.ClaimsTable()) }
