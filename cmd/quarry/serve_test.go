package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "127.1.2.3:0": true, "[::1]:8080": true, "localhost:80": true,
		"0.0.0.0:8080": false, ":8080": false, "[::]:8080": false, "192.168.1.4:8080": false, "example.com:80": false,
	} {
		if got := loopbackAddr(addr); got != want {
			t.Errorf("loopbackAddr(%q) = %v, want %v", addr, got, want)
		}
	}
}

// Serving a non-loopback address without a key is refused before anything
// is opened or created, unless --insecure-no-auth says so.
func TestServeRefusesOpenBindWithoutKey(t *testing.T) {
	t.Setenv("QUARRY_API_KEY", "")
	st := filepath.Join(t.TempDir(), "store")
	_, errOut, code := quarryCode(t, "serve", "--store", st, "--addr", "0.0.0.0:0")
	if code != exitError || !strings.Contains(errOut, "refusing to serve 0.0.0.0:0 without --api-key") {
		t.Errorf("serve --addr 0.0.0.0:0 without a key = exit %d, %q; want exit %d and a refusal", code, errOut, exitError)
	}
	if _, err := os.Stat(st); !os.IsNotExist(err) {
		t.Errorf("the refused serve created %s (%v)", st, err)
	}
}
