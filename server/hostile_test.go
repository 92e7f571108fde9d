package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/store"
)

// allocated runs f and returns the bytes the process allocated meanwhile:
// an upper bound on how much f's peak heap grew.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestBrowserDefenses: without an API key, DNS rebinding (a foreign Host)
// and cross-site writes are refused; the server's own origin and
// non-browser clients are served.
func TestBrowserDefenses(t *testing.T) {
	ts := newTestServer(t, Options{})
	vs := ts.createVS("v")
	host := strings.TrimPrefix(ts.url, "http://")
	cases := []struct {
		name   string
		method string
		path   string
		host   string
		hdr    map[string]string
		ct     string
		want   int
	}{
		{"foreign Host (DNS rebinding)", "GET", "/v1/vector_stores", "evil.example:8080", nil, "", 403},
		{"foreign Host on a loopback-looking name", "GET", "/v1/vector_stores", "127.0.0.1.evil.example", nil, "", 403},
		{"cross-site Origin", "POST", "/v1/vector_stores", "", map[string]string{"Origin": "http://evil.example"}, "application/json", 403},
		{"null Origin", "POST", "/v1/vector_stores", "", map[string]string{"Origin": "null"}, "application/json", 403},
		{"other local origin", "POST", "/v1/vector_stores", "", map[string]string{"Origin": "http://localhost:1"}, "application/json", 403},
		{"Sec-Fetch-Site cross-site", "GET", "/v1/vector_stores", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", 403},
		{"text/plain simple request", "POST", "/v1/vector_stores", "", nil, "text/plain", 415},
		{"form-urlencoded simple request", "POST", "/v1/vector_stores/" + vs + "/search", "", nil, "application/x-www-form-urlencoded", 415},
		{"same origin", "POST", "/v1/vector_stores", "", map[string]string{"Origin": ts.url, "Sec-Fetch-Site": "same-origin"}, "application/json", 200},
		{"localhost Host", "GET", "/v1/vector_stores", "localhost:" + strings.Split(host, ":")[1], nil, "", 200},
		{"IPv6 loopback Host", "GET", "/v1/vector_stores", "[::1]:80", nil, "", 200},
		{"plain client", "GET", "/v1/vector_stores", "", nil, "", 200},
	}
	for _, c := range cases {
		var body io.Reader
		if c.method == "POST" {
			body = strings.NewReader(`{"name":"csrf"}`)
		}
		req, _ := http.NewRequest(c.method, ts.url+c.path, body)
		if c.host != "" {
			req.Host = c.host
		}
		if c.ct != "" {
			req.Header.Set("Content-Type", c.ct)
		}
		for k, v := range c.hdr {
			req.Header.Set(k, v)
		}
		code, out := ts.send(req)
		if code != c.want {
			t.Errorf("%s: %d %v, want %d", c.name, code, out, c.want)
		}
		if code >= 400 && out["error"] == nil {
			t.Errorf("%s: %v is not in the error shape", c.name, out)
		}
	}
	// Only the same-origin create went through.
	if n := len(ts.must("GET", "/v1/vector_stores", nil)["data"].([]any)); n != 2 {
		t.Errorf("%d vector stores, want 2 (the first and the same-origin one)", n)
	}
	// With an API key every Host is served (the key is the defense).
	keyed := newTestServer(t, Options{APIKey: "k"})
	req, _ := http.NewRequest("GET", keyed.url+"/v1/vector_stores", nil)
	req.Host = "quarry.internal:8080"
	if code, out := keyed.send(req); code != 200 {
		t.Errorf("keyed server, foreign Host: %d %v", code, out)
	}
	// AllowedHosts names more hosts.
	allowed := newTestServer(t, Options{AllowedHosts: []string{"quarry.lan"}})
	req, _ = http.NewRequest("GET", allowed.url+"/v1/vector_stores", nil)
	req.Host = "quarry.lan:8080"
	if code, out := allowed.send(req); code != 200 {
		t.Errorf("allowed host: %d %v", code, out)
	}
}

// TestInFlightCap: beyond MaxInFlight requests the answer is 503 with
// Retry-After; healthz is always served.
func TestInFlightCap(t *testing.T) {
	ts := newTestServer(t, Options{MaxInFlight: 2, BodyGrace: time.Minute, BodyIdleTimeout: time.Minute})
	vs := ts.createVS("v")
	addr := strings.TrimPrefix(ts.url, "http://")
	// Two requests whose bodies never finish hold both slots.
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /v1/vector_stores/%s/search HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", vs, addr)
	}
	// answered says what the slow requests got, if anything: a test that
	// fails must say why.
	answered := func() string {
		var out []string
		for _, c := range conns {
			c.SetReadDeadline(time.Now().Add(time.Second))
			b := make([]byte, 512)
			n, err := c.Read(b)
			out = append(out, fmt.Sprintf("%q (%v)", b[:n], err))
		}
		return strings.Join(out, "; ")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(ts.url + "/v1/vector_stores")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 503 {
			if resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 503 with both slots taken: %d; the slow requests got %s", resp.StatusCode, answered())
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Get(ts.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz with the slots taken: %v %v", err, resp)
	}
	resp.Body.Close()
}

// TestSlowBody: a body trickled below MinBodyRate is answered 408 and its
// connection closed, for JSON and upload endpoints alike.
func TestSlowBody(t *testing.T) {
	ts := newTestServer(t, Options{BodyGrace: 300 * time.Millisecond, MinBodyRate: 1000, BodyIdleTimeout: 2 * time.Second})
	vs := ts.createVS("v")
	addr := strings.TrimPrefix(ts.url, "http://")
	heads := map[string]string{
		"search": fmt.Sprintf("POST /v1/vector_stores/%s/search HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"query\":\"a", vs, addr),
		"upload": fmt.Sprintf("POST /v1/files HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000000\r\n\r\n"+
			"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n", addr),
	}
	for name, head := range heads {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, head)
		t0 := time.Now()
		answered := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(c).ReadString('\n')
			answered <- line
		}()
		var line string
	trickle:
		for time.Since(t0) < 10*time.Second {
			select {
			case line = <-answered:
				break trickle
			case <-time.After(100 * time.Millisecond):
				c.Write([]byte("a"))
			}
		}
		c.Close()
		if !strings.Contains(line, " 408 ") {
			t.Errorf("%s trickled at 10 bytes/s: answer %q after %v, want 408", name, line, time.Since(t0))
		}
	}
}

// TestMultipartBounds: many form fields stop at the field cap with little
// memory; a truncated body is 400; neither leaves an upload behind.
func TestMultipartBounds(t *testing.T) {
	ts := newTestServer(t, Options{})
	const fields, size = 8000, 60 << 10
	var code int
	var out obj
	n := allocated(func() {
		pr, pw := io.Pipe()
		go func() {
			chunk := strings.Repeat("x", size)
			for i := range fields {
				if _, err := fmt.Fprintf(pw, "--b\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\n%s\r\n", i, chunk); err != nil {
					return
				}
			}
			fmt.Fprint(pw, "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc\r\n--b--\r\n")
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", ts.url+"/v1/files", pr)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		code, out = ts.send(req)
	})
	if code != 400 || !strings.Contains(fmt.Sprint(out), "fields") {
		t.Errorf("8000 fields: %d %v, want 400 naming the field cap", code, out)
	}
	if n > 64<<20 {
		t.Errorf("8000 x 60 KiB fields allocated %d MiB, want < 64", n>>20)
	}
	truncated := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc"
	for _, path := range []string{"/v1/files", "/v1/vector_stores/" + ts.createVS("v") + "/files"} {
		req, _ := http.NewRequest("POST", ts.url+path, strings.NewReader(truncated))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		if code, out := ts.send(req); code != 400 {
			t.Errorf("truncated multipart to %s: %d %v, want 400", path, code, out)
		}
	}
	if got := ts.must("GET", "/v1/files", nil)["data"].([]any); len(got) != 0 {
		t.Errorf("uploads after failed requests: %v", got)
	}
}

// TestQueryBounds: a query over MaxQueryBytes is 400 at once; one at the
// limit with many distinct terms answers.
func TestQueryBounds(t *testing.T) {
	ts := newTestServer(t, Options{})
	vs := ts.createVS("v")
	var b strings.Builder
	for i := 0; b.Len() < 4<<20-64; i++ {
		fmt.Fprintf(&b, "t%x ", i*2654435761)
	}
	code, out := ts.do("POST", "/v1/vector_stores/"+vs+"/search", obj{"query": b.String()})
	if code != 400 || out["error"].(obj)["param"] != "query" {
		t.Errorf("4 MiB query: %d %v, want 400 on 'query'", code, out)
	}
	q := b.String()[:MaxQueryBytes-10]
	if code, out := ts.do("POST", "/v1/vector_stores/"+vs+"/search", obj{"query": q}); code != 200 {
		t.Errorf("query of %d bytes: %d %v", len(q), code, out)
	}
}

// TestValidationBeforeEffect: a create that answers 4xx creates nothing.
func TestValidationBeforeEffect(t *testing.T) {
	ts := newTestServer(t, Options{})
	id := ts.upload("a.txt", "zebra")
	for _, body := range []string{
		`{"name":"x","file_ids":["` + id + `"],"chunking_strategy":{"type":"bogus"}}`,
		`{"name":"x","file_ids":["` + id + `"],"chunking_strategy":{"type":"static","static":{"max_chunk_size_tokens":5,"chunk_overlap_tokens":0}}}`,
		`{"name":"x","file_ids":["` + id + `", "file-nope"]}`,
	} {
		if code, out := ts.do("POST", "/v1/vector_stores", body); code != 400 {
			t.Errorf("%s: %d %v, want 400", body, code, out)
		}
	}
	if got := ts.must("GET", "/v1/vector_stores", nil)["data"].([]any); len(got) != 0 {
		t.Errorf("vector stores after 400s: %v", got)
	}
}

// TestNoSpaceIs507: a write failing with ENOSPC answers 507
// insufficient_storage in the error shape.
func TestNoSpaceIs507(t *testing.T) {
	err := fmt.Errorf("server: %w", &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC})
	ae := toAPIError(err)
	if ae.Status != 507 || ae.Code != "insufficient_storage" || ae.Type != "server_error" {
		t.Fatalf("ENOSPC -> %+v", ae)
	}
	if ae := multipartError(err); toAPIError(ae).Status != 507 {
		t.Fatalf("ENOSPC through multipartError -> %+v", toAPIError(ae))
	}
}

// TestLocalPeersOnly: with LocalPeersOnly, a request from another machine
// is refused 403 forbidden_peer and changes nothing; this machine's
// requests are served.
func TestLocalPeersOnly(t *testing.T) {
	db, err := store.Open(context.Background(), t.TempDir(), store.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := New(db, Options{LocalPeersOnly: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, tc := range []struct {
		peer string
		want int
	}{
		{"192.0.2.1:1234", http.StatusForbidden},
		{"10.1.2.3:80", http.StatusForbidden},
		{"[2001:db8::1]:443", http.StatusForbidden},
		{"127.0.0.1:5000", http.StatusOK},
		{"127.9.9.9:5000", http.StatusOK},
		{"[::1]:5000", http.StatusOK},
	} {
		req := httptest.NewRequest("POST", "http://localhost:8080/v1/vector_stores", strings.NewReader(`{"name":"x"}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = tc.peer
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("peer %s: status %d, want %d (%s)", tc.peer, rec.Code, tc.want, rec.Body)
		}
		if tc.want == http.StatusForbidden && !strings.Contains(rec.Body.String(), "forbidden_peer") {
			t.Errorf("peer %s: body %s, want code forbidden_peer", tc.peer, rec.Body)
		}
	}
	// Only the three local creates happened.
	vss, err := db.VectorStores(context.Background())
	if err != nil || len(vss) != 3 {
		t.Errorf("%d vector stores after the requests (%v), want 3 (the local ones)", len(vss), err)
	}
}
