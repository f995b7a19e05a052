// Package chapters lists the book's chapters the suite proves, in book
// order: adding a chapter is its folder (chNN: its descriptor, manifests and
// claims, one file per section of the book) and one line here.
package chapters

import (
	"github.com/kiamol-e2e/kiamol-e2e/chapters/ch02"
	"github.com/kiamol-e2e/kiamol-e2e/chapters/ch03"
	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/spec"
)

// All are the chapters, in book order.
var All = []*spec.Chapter{
	ch02.Chapter,
	ch03.Chapter,
}

// Books is their data, for what only reads about them.
func Books() []*book.Chapter { return spec.Books(All) }
