// Package imagemode decides where the cluster's images come from: the public
// registries (online) or images built on this machine (air-gapped).
package images

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"
)

// Mode is where images come from.
type Mode string

const (
	Online  Mode = "online"
	Airgap  Mode = "airgap"
	EnvName      = "E2E_IMAGES"
)

// Choice is a mode and why it was taken, for the run's log.
type Choice struct {
	Mode   Mode
	Reason string
}

// probeHost is looked up, never contacted: resolving is the whole probe.
const probeHost = "registry-1.docker.io"

// Resolver is the part of net.Resolver the probe needs.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Resolve reads E2E_IMAGES (airgap, online, or auto/empty). On auto it only
// asks the resolver whether Docker Hub's name exists: where it does not, the
// machine cannot pull, and nothing else is sent anywhere.
func Resolve(ctx context.Context) (Choice, error) {
	return resolve(ctx, os.Getenv(EnvName), net.DefaultResolver)
}

func resolve(ctx context.Context, setting string, r Resolver) (Choice, error) {
	switch setting {
	case string(Airgap), string(Online):
		return Choice{Mode(setting), fmt.Sprintf("%s=%s", EnvName, setting)}, nil
	case "", "auto":
	default:
		return Choice{}, fmt.Errorf("%s=%q is not one of airgap, online, auto", EnvName, setting)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if addrs, err := r.LookupHost(ctx, probeHost); err != nil || len(addrs) == 0 {
		return Choice{Airgap, fmt.Sprintf("%s does not resolve here (%v); set %s=online to override", probeHost, err, EnvName)}, nil
	}
	return Choice{Online, fmt.Sprintf("%s resolves; set %s=airgap to override", probeHost, EnvName)}, nil
}
