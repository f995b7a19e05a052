package main

import (
	"context"
	"testing"
	"time"
)

// A second build of one cache waits for the first, and says so.
func TestOneBuildPerCacheAtATime(t *testing.T) {
	cache := t.TempDir()
	unlock, waited, err := lockCache(context.Background(), cache)
	if err != nil || waited {
		t.Fatalf("first: %v, waited %v", err, waited)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if _, waited, err := lockCache(ctx, cache); err == nil || !waited {
		t.Fatalf("second, while the first holds it: %v, waited %v; want it to wait until its context ends", err, waited)
	}
	unlock()
	u, _, err := lockCache(context.Background(), cache)
	if err != nil {
		t.Fatalf("once the first let go: %v", err)
	}
	u()
}
