package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// lockCache takes the cache's build lock, waiting (and saying so) while
// another build holds it; waited says it had to.
func lockCache(ctx context.Context, cache string) (unlock func(), waited bool, err error) {
	path := filepath.Join(cache, "state", "build.lock")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, false, fmt.Errorf("lock %s: %w", path, err)
		}
		if !waited {
			holder, _ := os.ReadFile(path)
			fmt.Printf("[images] waiting for another image build of this cache to end (%s)\n", strings.TrimSpace(string(holder)))
			waited = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, waited, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d, since %s\n", os.Getpid(), time.Now().Format(time.TimeOnly))), 0)
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, waited, nil
}
