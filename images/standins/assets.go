// Package standins holds the programs the air-gapped build runs in place of
// the book's images, one folder each, and the files those images carry
// besides their program.
package standins

import "embed"

// Assets are the files stand-in images carry besides their program; a
// stand-in's Files name them by path here ("hello-kiamol/html/index.html").
//
//go:embed hello-kiamol/html
var Assets embed.FS
