package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/quarrylabs/quarry/chunk"
)

// raw sends a JSON request and returns the response with its decoded body.
func (ts *testServer) raw(method, path string, body any) (*http.Response, obj) {
	ts.t.Helper()
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	req, err := http.NewRequest(method, ts.url+path, bytes.NewReader(data))
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if ts.key != "" {
		req.Header.Set("Authorization", "Bearer "+ts.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out obj
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp, out
}

func TestRequestID(t *testing.T) {
	ts := newTestServer(t, Options{})
	seen := map[string]bool{}
	for _, path := range []string{"/v1/vector_stores", "/v1/vector_stores/vs_missing", "/v1/nowhere"} {
		resp, _ := ts.raw("GET", path, nil)
		id := resp.Header.Get("X-Request-Id")
		if !strings.HasPrefix(id, "req_") || len(id) != 36 || seen[id] {
			t.Errorf("GET %s: x-request-id %q, want a new req_ id of 36 characters", path, id)
		}
		seen[id] = true
	}
}

func TestShouldRetry(t *testing.T) {
	ts := newTestServer(t, Options{})
	for _, c := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"GET", "/v1/vector_stores/vs_missing", nil, 404},
		{"POST", "/v1/vector_stores", obj{"name": 3}, 400},
		{"DELETE", "/v1/nowhere", nil, 404},
	} {
		resp, out := ts.raw(c.method, c.path, c.body)
		if resp.StatusCode != c.status || resp.Header.Get("X-Should-Retry") != "false" {
			t.Errorf("%s %s = %d, x-should-retry %q (%v); want %d, false", c.method, c.path,
				resp.StatusCode, resp.Header.Get("X-Should-Retry"), out, c.status)
		}
	}
	resp, _ := ts.raw("GET", "/v1/vector_stores", nil)
	if v := resp.Header.Get("X-Should-Retry"); v != "" {
		t.Errorf("GET /v1/vector_stores (200): x-should-retry %q, want none", v)
	}
	if !permanent(409) || permanent(429) || permanent(408) || permanent(500) || permanent(503) {
		t.Error("permanent: 409 must be permanent; 408, 429 and 5xx retryable")
	}
}

func TestChunkingStrategyReported(t *testing.T) {
	ts := newTestServer(t, Options{})
	vs := ts.createVS("kb")
	up := ts.upload("keys.md", docKeys)
	f := ts.must("POST", "/v1/vector_stores/"+vs+"/files", obj{"file_id": up})
	cs := f["chunking_strategy"].(obj)
	static, _ := cs["static"].(obj)
	if cs["type"] != "static" || static == nil || static["max_chunk_size_tokens"] != float64(chunk.DefaultMaxTokens) ||
		static["chunk_overlap_tokens"] != float64(chunk.DefaultOverlapTokens) || cs["quarry_type"] != "auto" {
		t.Errorf("default chunking_strategy = %v, want static %d/%d with quarry_type auto", cs,
			chunk.DefaultMaxTokens, chunk.DefaultOverlapTokens)
	}
	// The reported object, sent back, selects the same strategy.
	var cj chunkingJSON
	data, _ := json.Marshal(cs)
	if err := json.Unmarshal(data, &cj); err != nil {
		t.Fatal(err)
	}
	if got := cj.strategy(); got.Type != chunk.Auto {
		t.Errorf("strategy of the reported %s = %+v, want auto", data, got)
	}
	// A real static strategy is reported without quarry_type.
	up2 := ts.upload("lunch.md", docLunch)
	f = ts.must("POST", "/v1/vector_stores/"+vs+"/files", obj{"file_id": up2,
		"chunking_strategy": obj{"type": "static", "static": obj{"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50}}})
	cs = f["chunking_strategy"].(obj)
	if cs["type"] != "static" || cs["static"].(obj)["max_chunk_size_tokens"] != 200.0 || cs["quarry_type"] != nil {
		t.Errorf("static chunking_strategy = %v, want static 200/50, no quarry_type", cs)
	}
}

func TestPollAfter(t *testing.T) {
	ts := newTestServer(t, Options{})
	vs := ts.createVS("kb")
	up := ts.upload("keys.md", docKeys)
	resp, f := ts.raw("POST", "/v1/vector_stores/"+vs+"/files", obj{"file_id": up})
	if f["status"] == "in_progress" && resp.Header.Get("Openai-Poll-After-Ms") == "" {
		t.Errorf("in-progress file without openai-poll-after-ms")
	}
	ts.waitFile(vs, f["id"].(string))
	resp, f = ts.raw("GET", "/v1/vector_stores/"+vs+"/files/"+f["id"].(string), nil)
	if f["status"] != "completed" || resp.Header.Get("Openai-Poll-After-Ms") != "" {
		t.Errorf("completed file: status %v, openai-poll-after-ms %q; want completed and no header",
			f["status"], resp.Header.Get("Openai-Poll-After-Ms"))
	}
	// Deterministic: the header follows the status.
	rec := httptest.NewRecorder()
	setPollAfter(rec, "in_progress")
	if rec.Header().Get("Openai-Poll-After-Ms") != "250" {
		t.Errorf("setPollAfter(in_progress) header = %q, want 250", rec.Header().Get("Openai-Poll-After-Ms"))
	}
}

func TestSearchPerChunk(t *testing.T) {
	ts := newTestServer(t, Options{})
	vs := ts.createVS("kb")
	// One file with several matching chunks, one with a single chunk.
	var long strings.Builder
	for i := range 40 {
		long.WriteString("## Rotation step\n\nRotate the signing keys, step " + strings.Repeat("x", i%3) +
			" of the key rotation runbook, with the vault tool and its audit log. ")
		long.WriteString(strings.Repeat("Filler sentence about unrelated matters. ", 12) + "\n\n")
	}
	a := ts.upload("runbook.md", long.String())
	b := ts.upload("keys.md", docKeys)
	body := obj{"file_ids": []string{a, b}, "chunking_strategy": obj{"type": "static",
		"static": obj{"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}}
	bt := ts.must("POST", "/v1/vector_stores/"+vs+"/file_batches", body)
	for bt["status"] == "in_progress" {
		bt = ts.must("GET", "/v1/vector_stores/"+vs+"/file_batches/"+bt["id"].(string), nil)
	}
	out := ts.must("POST", "/v1/vector_stores/"+vs+"/search", obj{"query": "rotate the signing keys", "max_num_results": 5})
	data := out["data"].([]any)
	if len(data) != 5 {
		t.Fatalf("search with max_num_results 5 = %d results, want 5 (one per chunk)", len(data))
	}
	perFile := map[string]int{}
	last := 2.0
	for _, d := range data {
		r := d.(obj)
		if n := len(r["content"].([]any)); n != 1 {
			t.Errorf("result %v has %d content items, want 1", r["file_id"], n)
		}
		sc := r["score"].(float64)
		// Results come in ranking order, which scores need not follow
		// exactly (doc.go): near-equal chunks may swap by rounding.
		if sc > last+1e-6 {
			t.Errorf("scores not in descending order: %v after %v", sc, last)
		}
		if cs := r["content"].([]any)[0].(obj)["score"].(float64); cs != sc {
			t.Errorf("result score %v != its chunk's %v", sc, cs)
		}
		last = sc
		perFile[r["file_id"].(string)]++
	}
	if perFile[a] < 2 {
		t.Errorf("runbook.md appears %d times, want several (one per matching chunk): %v", perFile[a], perFile)
	}
	if out["has_more"] != false || out["next_page"] != nil {
		t.Errorf("has_more %v, next_page %v; want false, null", out["has_more"], out["next_page"])
	}
}
