package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/store"
)

type testServer struct {
	t   *testing.T
	db  *store.DB
	url string
	key string
}

func newTestServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	db, err := store.Open(context.Background(), t.TempDir(), store.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	hs := httptest.NewServer(New(db, opts))
	t.Cleanup(hs.Close)
	return &testServer{t: t, db: db, url: hs.URL, key: opts.APIKey}
}

type obj = map[string]any

// do sends a JSON request (body may be a string of raw JSON) and decodes the
// JSON answer.
func (ts *testServer) do(method, path string, body any) (int, obj) {
	ts.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, ts.url+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return ts.send(req)
}

func (ts *testServer) send(req *http.Request) (int, obj) {
	ts.t.Helper()
	if ts.key != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+ts.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	var out obj
	if err := json.Unmarshal(data, &out); err != nil {
		ts.t.Fatalf("%s %s: answer is not a JSON object: %q", req.Method, req.URL.Path, data)
	}
	return resp.StatusCode, out
}

// must sends a request that must succeed.
func (ts *testServer) must(method, path string, body any) obj {
	ts.t.Helper()
	code, out := ts.do(method, path, body)
	if code != http.StatusOK {
		ts.t.Fatalf("%s %s = %d %v, want 200", method, path, code, out)
	}
	return out
}

func multipartBody(t *testing.T, filename, content string, fields map[string]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte(content))
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// upload posts a file to /v1/files and returns its id.
func (ts *testServer) upload(filename, content string) string {
	ts.t.Helper()
	body, ct := multipartBody(ts.t, filename, content, map[string]string{"purpose": "assistants"})
	req, _ := http.NewRequest("POST", ts.url+"/v1/files", body)
	req.Header.Set("Content-Type", ct)
	code, out := ts.send(req)
	if code != http.StatusOK {
		ts.t.Fatalf("upload %s = %d %v", filename, code, out)
	}
	if out["object"] != "file" || out["filename"] != filename || out["bytes"] != float64(len(content)) {
		ts.t.Fatalf("upload %s = %v", filename, out)
	}
	return out["id"].(string)
}

func (ts *testServer) createVS(name string) string {
	ts.t.Helper()
	return ts.must("POST", "/v1/vector_stores", obj{"name": name})["id"].(string)
}

// waitFile polls the file until it is no longer in progress.
func (ts *testServer) waitFile(vsID, fileID string) obj {
	ts.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f := ts.must("GET", "/v1/vector_stores/"+vsID+"/files/"+fileID, nil)
		if f["status"] != "in_progress" {
			return f
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("file %s still in progress", fileID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const (
	docKeys = "# Security\n\n## Key rotation\n\nRotate the signing keys every ninety days. " +
		"The rotation of signing keys is done by the platform team with the vault tool.\n"
	docLunch = "# Cafeteria\n\nThe cafeteria serves lunch from noon. Vegetarian dishes every day, " +
		"soup on Mondays and fish on Fridays.\n"
)

func TestFlow(t *testing.T) {
	ts := newTestServer(t, Options{})
	vs := ts.createVS("handbook")
	keys := ts.upload("keys.md", docKeys)
	lunch := ts.upload("lunch.md", docLunch)

	f := ts.must("POST", "/v1/vector_stores/"+vs+"/files", obj{"file_id": keys, "attributes": obj{"region": "eu", "year": 2024}})
	if f["id"] != keys || f["object"] != "vector_store.file" || f["vector_store_id"] != vs {
		t.Fatalf("attach = %v, want id %s", f, keys)
	}
	if _, ok := f["chunk_ids"]; ok {
		t.Errorf("attach answer has chunk_ids: %v", f)
	}
	// Attaching again gives the same file, not a copy.
	if again := ts.must("POST", "/v1/vector_stores/"+vs+"/files", obj{"file_id": keys}); again["id"] != keys {
		t.Errorf("second attach = %v", again)
	}
	ts.must("POST", "/v1/vector_stores/"+vs+"/files", obj{"file_id": lunch, "attributes": obj{"region": "us"},
		"chunking_strategy": obj{"type": "static", "static": obj{"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50}}})

	if f := ts.waitFile(vs, keys); f["status"] != "completed" || f["attributes"].(obj)["region"] != "eu" {
		t.Fatalf("keys.md = %v, want completed with region eu", f)
	}
	lf := ts.waitFile(vs, lunch)
	if cs := lf["chunking_strategy"].(obj); cs["type"] != "static" || cs["static"].(obj)["max_chunk_size_tokens"] != float64(200) {
		t.Errorf("lunch.md chunking_strategy = %v", cs)
	}
	if info := ts.must("GET", "/v1/vector_stores/"+vs, nil); info["file_counts"].(obj)["completed"] != float64(2) {
		t.Errorf("vector store = %v, want 2 completed", info)
	}

	search := func(query string, region string) []any {
		t.Helper()
		body := obj{"query": query, "max_num_results": 5}
		if region != "" {
			body["filters"] = obj{"type": "eq", "key": "region", "value": region}
		}
		res := ts.must("POST", "/v1/vector_stores/"+vs+"/search", body)
		if res["object"] != "vector_store.search_results.page" || res["has_more"] != false || res["next_page"] != nil {
			t.Fatalf("search envelope = %v", res)
		}
		if q := res["search_query"].([]any); len(q) != 1 || q[0] != query {
			t.Errorf("search_query = %v, want [%q]", q, query)
		}
		return res["data"].([]any)
	}
	data := search("rotate signing keys", "eu")
	if len(data) != 1 {
		t.Fatalf("search eu = %v, want keys.md only", data)
	}
	hit := data[0].(obj)
	if hit["file_id"] != keys || hit["filename"] != "keys.md" || hit["attributes"].(obj)["year"] != float64(2024) {
		t.Errorf("hit = %v", hit)
	}
	c := hit["content"].([]any)[0].(obj)
	if c["type"] != "text" || !strings.Contains(c["text"].(string), "Rotate the signing keys") ||
		!strings.HasPrefix(c["chunk_id"].(string), "chunk_") || c["char_end"].(float64) <= c["char_start"].(float64) {
		t.Errorf("content = %v", c)
	}
	if h, _ := c["headings"].([]any); len(h) == 0 {
		t.Errorf("content has no headings: %v", c)
	}
	if s := hit["score"].(float64); s <= 0 || s > 1 {
		t.Errorf("score = %v, want in (0, 1]", s)
	}
	for _, d := range search("rotate signing keys", "us") {
		if d.(obj)["file_id"] == keys {
			t.Errorf("search us returned keys.md: %v", d)
		}
	}
	// Query as an array.
	if res := ts.must("POST", "/v1/vector_stores/"+vs+"/search", obj{"query": []string{"lunch", "soup"}}); len(res["data"].([]any)) == 0 {
		t.Errorf("array query found nothing: %v", res)
	}

	// Update attributes: the filter sees the new value.
	u := ts.must("POST", "/v1/vector_stores/"+vs+"/files/"+keys, obj{"attributes": obj{"region": "apac"}})
	if u["id"] != keys || u["attributes"].(obj)["region"] != "apac" {
		t.Errorf("update = %v", u)
	}
	if d := search("rotate signing keys", "eu"); len(d) != 0 {
		t.Errorf("search eu after update = %v, want nothing", d)
	}

	content := ts.must("GET", "/v1/vector_stores/"+vs+"/files/"+keys+"/content", nil)
	if content["object"] != "vector_store.file_content.page" || content["has_more"] != false ||
		!strings.Contains(content["data"].([]any)[0].(obj)["text"].(string), "ninety days") {
		t.Errorf("content = %v", content)
	}

	list := ts.must("GET", "/v1/vector_stores/"+vs+"/files?filter=completed", nil)
	if list["object"] != "list" || len(list["data"].([]any)) != 2 {
		t.Errorf("files = %v, want 2", list)
	}

	del := ts.must("DELETE", "/v1/vector_stores/"+vs+"/files/"+keys, nil)
	if del["id"] != keys || del["deleted"] != true || del["object"] != "vector_store.file.deleted" {
		t.Errorf("delete = %v", del)
	}
	if code, _ := ts.do("GET", "/v1/vector_stores/"+vs+"/files/"+keys, nil); code != http.StatusNotFound {
		t.Errorf("GET deleted file = %d, want 404", code)
	}
	for _, d := range search("rotate signing keys", "") {
		if d.(obj)["file_id"] == keys {
			t.Errorf("search after delete returned keys.md")
		}
	}
	// The upload survives its removal from the vector store.
	ts.must("GET", "/v1/files/"+keys, nil)

	// Deleting an upload removes it from every vector store.
	ts.must("DELETE", "/v1/files/"+lunch, nil)
	if code, _ := ts.do("GET", "/v1/vector_stores/"+vs+"/files/"+lunch, nil); code != http.StatusNotFound {
		t.Errorf("GET file of deleted upload = %d, want 404", code)
	}
	if code, _ := ts.do("GET", "/v1/files/"+lunch, nil); code != http.StatusNotFound {
		t.Errorf("GET deleted upload = %d, want 404", code)
	}

	vd := ts.must("DELETE", "/v1/vector_stores/"+vs, nil)
	if vd["id"] != vs || vd["object"] != "vector_store.deleted" || vd["deleted"] != true {
		t.Errorf("delete vector store = %v", vd)
	}
	if code, _ := ts.do("GET", "/v1/vector_stores/"+vs, nil); code != http.StatusNotFound {
		t.Errorf("GET deleted vector store = %d, want 404", code)
	}
}

func TestUploads(t *testing.T) {
	ts := newTestServer(t, Options{MaxUploadBytes: 100})
	id := ts.upload("a.txt", "hello")
	resp, err := http.Get(ts.url + "/v1/files/" + id + "/content")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "hello" {
		t.Errorf("content = %q, want %q", got, "hello")
	}
	if l := ts.must("GET", "/v1/files", nil); len(l["data"].([]any)) != 1 || l["first_id"] != id {
		t.Errorf("list = %v", l)
	}

	// A second handler on the same DB sees the upload: the index is on disk.
	hs := httptest.NewServer(New(ts.db, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer hs.Close()
	ts2 := &testServer{t: t, db: ts.db, url: hs.URL}
	ts2.must("GET", "/v1/files/"+id, nil)

	tests := []struct {
		name    string
		content string
		fields  map[string]string
		want    int
	}{
		{"too large", strings.Repeat("x", 101), map[string]string{"purpose": "assistants"}, http.StatusRequestEntityTooLarge},
		{"no purpose", "x", nil, http.StatusBadRequest},
		{"bad purpose", "x", map[string]string{"purpose": "fine-tune"}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := multipartBody(t, "b.txt", tt.content, tt.fields)
			req, _ := http.NewRequest("POST", ts.url+"/v1/files", body)
			req.Header.Set("Content-Type", ct)
			code, out := ts.send(req)
			if code != tt.want || out["error"] == nil {
				t.Errorf("upload = %d %v, want %d", code, out, tt.want)
			}
		})
	}
	if l := ts.must("GET", "/v1/files", nil); len(l["data"].([]any)) != 1 {
		t.Errorf("failed uploads were kept: %v", l)
	}
}

func TestMultipartAttach(t *testing.T) {
	ts := newTestServer(t, Options{})
	vs := ts.createVS("kb")
	body, ct := multipartBody(t, "keys.md", docKeys, map[string]string{"attributes": `{"team":"platform"}`})
	req, _ := http.NewRequest("POST", ts.url+"/v1/vector_stores/"+vs+"/files", body)
	req.Header.Set("Content-Type", ct)
	code, f := ts.send(req)
	if code != http.StatusOK || f["filename"] != "keys.md" {
		t.Fatalf("multipart attach = %d %v", code, f)
	}
	if f := ts.waitFile(vs, f["id"].(string)); f["status"] != "completed" || f["attributes"].(obj)["team"] != "platform" {
		t.Errorf("file = %v", f)
	}
	res := ts.must("POST", "/v1/vector_stores/"+vs+"/search", obj{"query": "signing keys",
		"filters": obj{"type": "eq", "key": "team", "value": "platform"}})
	if len(res["data"].([]any)) != 1 {
		t.Errorf("search = %v, want 1 result", res)
	}
}

func TestListPagination(t *testing.T) {
	ts := newTestServer(t, Options{})
	var ids []string
	for i := range 5 {
		ids = append(ids, ts.createVS(fmt.Sprintf("vs%d", i)))
	}
	// Walk forward in pages of 2.
	var seen []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		q := "/v1/vector_stores?limit=2&order=asc"
		if after != "" {
			q += "&after=" + after
		}
		l := ts.must("GET", q, nil)
		data := l["data"].([]any)
		for _, d := range data {
			seen = append(seen, d.(obj)["id"].(string))
		}
		if len(data) > 0 && (l["first_id"] != data[0].(obj)["id"] || l["last_id"] != data[len(data)-1].(obj)["id"]) {
			t.Errorf("first_id/last_id = %v/%v, data %v", l["first_id"], l["last_id"], data)
		}
		if l["has_more"] != true {
			break
		}
		after = l["last_id"].(string)
	}
	if len(seen) != 5 {
		t.Fatalf("pages gave %v, want 5 ids", seen)
	}
	set := map[string]bool{}
	for _, id := range seen {
		set[id] = true
	}
	for _, id := range ids {
		if !set[id] {
			t.Errorf("id %s missing from pages %v", id, seen)
		}
	}
	// desc is the reverse of asc.
	desc := ts.must("GET", "/v1/vector_stores?limit=5", nil)["data"].([]any)
	for i, d := range desc {
		if d.(obj)["id"] != seen[len(seen)-1-i] {
			t.Errorf("desc[%d] = %v, want %s", i, d.(obj)["id"], seen[len(seen)-1-i])
		}
	}
	// before: the page just before the last one.
	b := ts.must("GET", "/v1/vector_stores?limit=2&order=asc&before="+seen[4], nil)
	if d := b["data"].([]any); len(d) != 2 || d[0].(obj)["id"] != seen[2] || d[1].(obj)["id"] != seen[3] || b["has_more"] != true {
		t.Errorf("before = %v, want %v", b, seen[2:4])
	}
}

func TestErrors(t *testing.T) {
	ts := newTestServer(t, Options{})
	vs := ts.createVS("kb")
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantParam  string
	}{
		{"bad JSON", "POST", "/v1/vector_stores", `{"name":`, 400, ""},
		{"unknown field", "POST", "/v1/vector_stores", `{"nam":"x"}`, 400, "nam"},
		{"wrong type", "POST", "/v1/vector_stores", `{"name":3}`, 400, "name"},
		{"unknown vector store", "GET", "/v1/vector_stores/vs_nope", nil, 404, ""},
		{"unknown vector store search", "POST", "/v1/vector_stores/vs_nope/search", obj{"query": "x"}, 404, ""},
		{"unknown file", "GET", "/v1/vector_stores/" + vs + "/files/file-nope", nil, 404, ""},
		{"unknown upload", "GET", "/v1/files/file-nope", nil, 404, ""},
		{"attach unknown upload", "POST", "/v1/vector_stores/" + vs + "/files", obj{"file_id": "file-nope"}, 400, "file_id"},
		{"attach without file_id", "POST", "/v1/vector_stores/" + vs + "/files", obj{}, 400, "file_id"},
		{"max_num_results 99", "POST", "/v1/vector_stores/" + vs + "/search", obj{"query": "x", "max_num_results": 99}, 400, "max_num_results"},
		{"max_num_results 0", "POST", "/v1/vector_stores/" + vs + "/search", obj{"query": "x", "max_num_results": 0}, 400, "max_num_results"},
		{"no query", "POST", "/v1/vector_stores/" + vs + "/search", obj{}, 400, "query"},
		{"query number", "POST", "/v1/vector_stores/" + vs + "/search", obj{"query": 3}, 400, "query"},
		{"bad filter type", "POST", "/v1/vector_stores/" + vs + "/search", obj{"query": "x", "filters": obj{"type": "like", "key": "a", "value": "b"}}, 400, "filters"},
		{"bad filter shape", "POST", "/v1/vector_stores/" + vs + "/search", obj{"query": "x", "filters": obj{"type": "and"}}, 400, "filters"},
		{"bad ranker", "POST", "/v1/vector_stores/" + vs + "/search", obj{"query": "x", "ranking_options": obj{"ranker": "best"}}, 400, ""},
		{"bad threshold", "POST", "/v1/vector_stores/" + vs + "/search", obj{"query": "x", "ranking_options": obj{"score_threshold": 2}}, 400, ""},
		{"bad limit", "GET", "/v1/vector_stores?limit=1000", nil, 400, "limit"},
		{"bad order", "GET", "/v1/vector_stores?order=up", nil, 400, "order"},
		{"bad after", "GET", "/v1/vector_stores?after=vs_nope", nil, 400, "after"},
		{"bad status filter", "GET", "/v1/vector_stores/" + vs + "/files?filter=done", nil, 400, "filter"},
		{"bad metadata", "POST", "/v1/vector_stores", obj{"metadata": obj{strings.Repeat("k", 65): "v"}}, 400, ""},
		{"bad expiry", "POST", "/v1/vector_stores/" + vs, obj{"expires_after": obj{"anchor": "last_active_at", "days": 0}}, 400, "expires_after.days"},
		{"unknown batch", "GET", "/v1/vector_stores/" + vs + "/file_batches/vsfb_nope", nil, 404, ""},
		{"unknown route", "GET", "/v1/nothing", nil, 404, ""},
		{"wrong method", "PUT", "/v1/vector_stores", nil, 405, ""},
		{"upload not multipart", "POST", "/v1/files", obj{"purpose": "assistants"}, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := ts.do(tt.method, tt.path, tt.body)
			if code != tt.wantStatus {
				t.Errorf("%s %s = %d %v, want %d", tt.method, tt.path, code, out, tt.wantStatus)
			}
			e, ok := out["error"].(obj)
			if !ok {
				t.Fatalf("answer = %v, want an error object", out)
			}
			for _, k := range []string{"message", "type", "param", "code"} {
				if _, ok := e[k]; !ok {
					t.Errorf("error lacks %q: %v", k, e)
				}
			}
			if m, _ := e["message"].(string); m == "" || strings.Contains(m, "store: ") {
				t.Errorf("message = %q", m)
			}
			wantType := "invalid_request_error"
			if e["type"] != wantType {
				t.Errorf("type = %v, want %s", e["type"], wantType)
			}
			if tt.wantParam != "" && e["param"] != tt.wantParam {
				t.Errorf("param = %v, want %s", e["param"], tt.wantParam)
			}
		})
	}
}

func TestEmbedderMismatch(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, dir, store.Options{Embedder: embed.NewLocal(64), Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := db.CreateVectorStore(ctx, store.VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = store.Open(ctx, dir, store.Options{Embedder: embed.NewLocal(128), Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hs := httptest.NewServer(New(db, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer hs.Close()
	ts := &testServer{t: t, db: db, url: hs.URL}
	code, out := ts.do("POST", "/v1/vector_stores/"+vs.ID()+"/search", obj{"query": "x"})
	if code != http.StatusConflict || out["error"].(obj)["code"] != "embedder_mismatch" {
		t.Errorf("search = %d %v, want 409 embedder_mismatch", code, out)
	}
}

func TestAuth(t *testing.T) {
	ts := newTestServer(t, Options{APIKey: "sekrit"})
	tests := []struct {
		name, header string
		want         int
	}{
		{"none", "", 401},
		{"wrong", "Bearer nope", 401},
		{"not bearer", "Basic sekrit", 401},
		{"right", "Bearer sekrit", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", ts.url+"/v1/vector_stores", nil)
			req.Header.Set("Authorization", tt.header)
			if tt.header == "" {
				req.Header.Set("Authorization", "Bearer")
				req.Header.Del("Authorization")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var out obj
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d %v, want %d", resp.StatusCode, out, tt.want)
			}
			if tt.want == 401 && out["error"].(obj)["code"] != "invalid_api_key" {
				t.Errorf("error = %v", out)
			}
		})
	}
	resp, err := http.Get(ts.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz without key = %d, want 200", resp.StatusCode)
	}
}

func TestFileBatches(t *testing.T) {
	ts := newTestServer(t, Options{})
	vs := ts.createVS("kb")
	a, b, c := ts.upload("a.md", docKeys), ts.upload("b.md", docLunch), ts.upload("c.txt", "plain words about backups and restores")

	bt := ts.must("POST", "/v1/vector_stores/"+vs+"/file_batches", obj{"file_ids": []string{a, b}, "attributes": obj{"src": "batch"}})
	if bt["object"] != "vector_store.files_batch" || bt["vector_store_id"] != vs || bt["file_counts"].(obj)["total"] != float64(2) {
		t.Fatalf("batch = %v", bt)
	}
	id := bt["id"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for bt["status"] == "in_progress" {
		if time.Now().After(deadline) {
			t.Fatalf("batch still in progress: %v", bt)
		}
		time.Sleep(20 * time.Millisecond)
		bt = ts.must("GET", "/v1/vector_stores/"+vs+"/file_batches/"+id, nil)
	}
	if bt["status"] != "completed" {
		t.Errorf("batch = %v, want completed", bt)
	}
	want := obj{"in_progress": 0.0, "completed": 2.0, "failed": 0.0, "cancelled": 0.0, "total": 2.0}
	if got := bt["file_counts"].(obj); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("file_counts = %v, want %v", got, want)
	}
	files := ts.must("GET", "/v1/vector_stores/"+vs+"/file_batches/"+id+"/files?order=asc", nil)["data"].([]any)
	got := map[any]bool{}
	for _, f := range files {
		got[f.(obj)["id"]] = true
		if f.(obj)["attributes"].(obj)["src"] != "batch" {
			t.Errorf("batch file attributes = %v", f.(obj)["attributes"])
		}
	}
	if len(files) != 2 || !got[a] || !got[b] {
		t.Errorf("batch files = %v, want %s and %s", files, a, b)
	}
	if cancel := ts.must("POST", "/v1/vector_stores/"+vs+"/file_batches/"+id+"/cancel", nil); cancel["status"] != "completed" {
		t.Errorf("cancel = %v", cancel)
	}

	// files[] form, with a per-file attribute.
	bt2 := ts.must("POST", "/v1/vector_stores/"+vs+"/file_batches", obj{"files": []obj{{"file_id": c, "attributes": obj{"n": 3}}}})
	if bt2["file_counts"].(obj)["total"] != float64(1) {
		t.Errorf("batch 2 = %v", bt2)
	}
	if f := ts.waitFile(vs, c); f["attributes"].(obj)["n"] != float64(3) {
		t.Errorf("file c = %v", f)
	}
	// Deleting a member drops it from the counts.
	ts.must("DELETE", "/v1/vector_stores/"+vs+"/files/"+a, nil)
	if bt := ts.must("GET", "/v1/vector_stores/"+vs+"/file_batches/"+id, nil); bt["file_counts"].(obj)["total"] != float64(1) {
		t.Errorf("batch after delete = %v, want total 1", bt)
	}

	for _, body := range []any{obj{}, obj{"file_ids": []string{a}, "files": []obj{{"file_id": b}}}, obj{"file_ids": []string{"file-nope"}}} {
		if code, _ := ts.do("POST", "/v1/vector_stores/"+vs+"/file_batches", body); code != 400 {
			t.Errorf("batch %v = %d, want 400", body, code)
		}
	}
}

func TestCreateVectorStoreWithFiles(t *testing.T) {
	ts := newTestServer(t, Options{})
	a := ts.upload("a.md", docKeys)
	info := ts.must("POST", "/v1/vector_stores", obj{"name": "kb", "file_ids": []string{a}, "metadata": obj{"owner": "me"},
		"expires_after": obj{"anchor": "last_active_at", "days": 7}})
	vs := info["id"].(string)
	if info["object"] != "vector_store" || info["metadata"].(obj)["owner"] != "me" || info["file_counts"].(obj)["total"] != float64(1) || info["expires_at"] == nil {
		t.Errorf("create = %v", info)
	}
	ts.waitFile(vs, a)
	up := ts.must("POST", "/v1/vector_stores/"+vs, obj{"name": "kb2", "expires_after": nil})
	if up["name"] != "kb2" || up["expires_at"] != nil {
		t.Errorf("update = %v", up)
	}
	if code, _ := ts.do("POST", "/v1/vector_stores", obj{"file_ids": []string{"file-nope"}}); code != 400 {
		t.Errorf("create with unknown file = %d, want 400", code)
	}
	if l := ts.must("GET", "/v1/vector_stores", nil); len(l["data"].([]any)) != 1 {
		t.Errorf("a failed create left a vector store: %v", l)
	}
}
