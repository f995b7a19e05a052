package images

import (
	"context"
	"errors"
	"strings"
	"testing"
)

type fakeResolver struct {
	addrs []string
	err   error
	asked []string
}

func (f *fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	f.asked = append(f.asked, host)
	return f.addrs, f.err
}

func TestExplicitSettingWinsWithoutALookup(t *testing.T) {
	for _, s := range []string{"airgap", "online"} {
		r := &fakeResolver{}
		c, err := resolve(context.Background(), s, r)
		if err != nil || string(c.Mode) != s || len(r.asked) != 0 {
			t.Errorf("%s: got %+v, %v, lookups %v", s, c, err, r.asked)
		}
	}
}

func TestAutoIsAirgapWhenTheRegistryNameDoesNotResolve(t *testing.T) {
	c, err := resolve(context.Background(), "", &fakeResolver{err: errors.New("no such host")})
	if err != nil || c.Mode != Airgap || !strings.Contains(c.Reason, "does not resolve") {
		t.Errorf("got %+v, %v", c, err)
	}
}

func TestAutoIsOnlineWhenItResolves(t *testing.T) {
	c, err := resolve(context.Background(), "auto", &fakeResolver{addrs: []string{"192.0.2.10"}})
	if err != nil || c.Mode != Online {
		t.Errorf("got %+v, %v", c, err)
	}
}

func TestUnknownSettingIsAnError(t *testing.T) {
	if _, err := resolve(context.Background(), "offline", &fakeResolver{}); err == nil || !strings.Contains(err.Error(), "E2E_IMAGES") {
		t.Errorf("got %v", err)
	}
}
