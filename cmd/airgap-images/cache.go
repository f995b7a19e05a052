package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// keyOf hashes everything a step's output depends on.
func keyOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// cached runs build into a scratch folder and renames it to dir only when it
// succeeds, so an interrupted or failed build never looks finished.
func cached(ctx context.Context, p *progress, what, dir string, build func(ctx context.Context, tmp string) error) error {
	done := p.begin(what)
	if _, err := os.Stat(dir); err == nil {
		done("cached")
		return nil
	}
	tmp := dir + ".partial"
	if err := removePartial(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := build(ctx, tmp); err != nil {
		if rerr := removePartial(tmp); rerr != nil {
			err = fmt.Errorf("%w; %v", err, rerr)
		}
		done("failed")
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	done("built")
	return nil
}
