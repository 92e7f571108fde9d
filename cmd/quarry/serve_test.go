package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// Serving a non-loopback address without a key warns and answers only
// this machine's requests (403 forbidden_peer to others), unless
// --insecure-no-auth says so.
func TestServeOpenBindWithoutKey(t *testing.T) {
	exe, env := quarryExe(t, false)
	env = append(env, "QUARRY_API_KEY=")
	s, err := startServe(exe, env, filepath.Join(t.TempDir(), "store"), time.Minute, "--addr", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.kill()
	if !strings.Contains(s.stderr.String(), "warning: listening on 0.0.0.0:0 with no API key: requests from other machines are refused") {
		t.Errorf("stderr %q, want the open-bind warning", s.stderr.String())
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.base, "http://"))
	if _, err := newAPI("http://127.0.0.1:"+port).createVectorStore(context.Background(), "local"); err != nil {
		t.Errorf("create over loopback: %v", err)
	}
	// Another address of this machine is not a loopback peer.
	var other string
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && !ip.IP.IsLoopback() {
				other = ip.IP.String()
				break
			}
		}
	}
	if other == "" {
		t.Log("no non-loopback IPv4 address here: the refusal of other peers is covered by server.TestLocalPeersOnly")
		return
	}
	req, _ := http.NewRequest("GET", "http://"+net.JoinHostPort(other, port)+"/v1/vector_stores", nil)
	req.Host = "localhost" // past the DNS-rebinding check, to reach the peer check
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "forbidden_peer") {
		t.Errorf("request from %s: %d %s, want 403 forbidden_peer", other, resp.StatusCode, body)
	}
}
