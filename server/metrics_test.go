package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	ts := newTestServer(t, Options{APIKey: "k"})
	vs := ts.createVS("kb")
	up := ts.upload("keys.md", docKeys)
	f := ts.must("POST", "/v1/vector_stores/"+vs+"/files", obj{"file_id": up})
	ts.waitFile(vs, f["id"].(string))
	ts.must("POST", "/v1/vector_stores/"+vs+"/search", obj{"query": "signing keys"})
	ts.do("GET", "/v1/vector_stores/vs_missing", nil)
	ts.do("BREW", "/v1/coffee", nil)

	scrape := func(key string) (int, string) {
		req, _ := http.NewRequest("GET", ts.url+"/metrics", nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := scrape(""); code != http.StatusUnauthorized {
		t.Errorf("GET /metrics without the key = %d, want 401", code)
	}
	code, body := scrape("k")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{
		`quarry_http_requests_total{method="POST",route="POST /v1/vector_stores/{vs_id}/search",status="200"} 1`,
		`quarry_http_requests_total{method="GET",route="GET /v1/vector_stores/{vs_id}",status="404"} 1`,
		`quarry_http_requests_total{method="other",route="unknown",status="404"} 1`,
		`quarry_http_request_duration_seconds_count{route="POST /v1/vector_stores/{vs_id}/search"} 1`,
		`quarry_files{status="completed"} 1`,
		`quarry_files{status="in_progress"} 0`,
		`quarry_vector_stores 1`,
		`quarry_store_up 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "vs_missing") {
		t.Error("/metrics carries a path (ids in labels)")
	}
}

func TestPprofOptIn(t *testing.T) {
	for _, on := range []bool{false, true} {
		ts := newTestServer(t, Options{Pprof: on})
		resp, err := http.Get(ts.url + "/debug/pprof/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{false: 404, true: 200}[on]; resp.StatusCode != want {
			t.Errorf("Pprof %v: GET /debug/pprof/cmdline = %d, want %d", on, resp.StatusCode, want)
		}
	}
}
