package preflight

import "testing"

// A compiled suite is run directly for its dry run, on Windows too; a
// package goes through the ginkgo CLI.
func TestCompiledSuite(t *testing.T) {
	for suite, want := range map[string]bool{
		"/home/me/.cache/kiamol-e2e/suites/kiamol-e2e/e2e.test": true,
		`C:\users\me\Temp\kiamol-e2e-1\kiamol-e2e.test.exe`:     true,
		`C:\users\me\Temp\kiamol-e2e-1\KIAMOL-E2E.TEST.EXE`:     true,
		"./e2e": false,
		`C:\users\me\kiamol-e2e-windows-amd64.exe`: false,
	} {
		if compiledSuite(suite) != want {
			t.Errorf("compiledSuite(%q) != %v", suite, want)
		}
	}
}
