package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/quarrylabs/quarry/internal/chat"
)

// bearer adds an API key to every request.
type bearer struct {
	key  string
	base http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.base.RoundTrip(r)
}

func noLLM(n int, req chat.Request) (int, any) { return 500, map[string]any{"error": "not used"} }

// exerciseMCP lists, searches, fetches and reads resources through cs,
// and checks that malformed calls are MCP errors that leave the session
// usable.
func exerciseMCP(t *testing.T, cs *mcp.ClientSession, f *agentFixture) {
	t.Helper()
	ctx := context.Background()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	if slices.Sort(names); !slices.Equal(names, []string{"fetch", "search"}) {
		t.Fatalf("tools = %v, want fetch and search", names)
	}

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": "how often are signing keys rotated", "max_num_results": 3}})
	if err != nil || res.IsError {
		t.Fatalf("search = %+v, %v", res, err)
	}
	var out mcpSearchOut
	data, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(data, &out); err != nil || len(out.Results) == 0 {
		t.Fatalf("search structured content = %s (%v)", data, err)
	}
	top := out.Results[0]
	if top.Filename != "keys.md" || top.FileID != f.keysID || top.VectorStoreID != f.vsID || top.ChunkID == "" || top.CharEnd <= top.CharStart {
		t.Errorf("top result = %+v, want keys.md (%s) with its citation", top, f.keysID)
	}
	if tc, ok := res.Content[0].(*mcp.TextContent); !ok || !strings.Contains(tc.Text, "[1] keys.md") {
		t.Errorf("search text content = %+v, want the sources under handles", res.Content)
	}

	// fetch the result's range: the same text; fetch the whole file.
	fr, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "fetch", Arguments: map[string]any{"id": top.ID}})
	if err != nil || fr.IsError {
		t.Fatalf("fetch %s = %+v, %v", top.ID, fr, err)
	}
	var fo mcpFetchOut
	data, _ = json.Marshal(fr.StructuredContent)
	json.Unmarshal(data, &fo)
	if strings.TrimSpace(fo.Text) != strings.TrimSpace(top.Text) || fo.Title != "keys.md" {
		t.Errorf("fetch %s = %q (%s), want the result's text %q", top.ID, fo.Text, fo.Title, top.Text)
	}
	whole := f.vsID + "/" + f.keysID
	fr, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "fetch", Arguments: map[string]any{"id": whole, "max_chars": 20}})
	if err != nil || fr.IsError {
		t.Fatalf("fetch %s = %+v, %v", whole, fr, err)
	}
	data, _ = json.Marshal(fr.StructuredContent)
	json.Unmarshal(data, &fo)
	if !fo.Truncated || len([]rune(fo.Text)) != 20 || !strings.HasPrefix(agentKeys, fo.Text) {
		t.Errorf("fetch %s with max_chars 20 = %+v", whole, fo)
	}

	rl, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range rl.Resources {
		uris = append(uris, r.URI)
	}
	fileURI := "quarry://vector_stores/" + f.vsID + "/files/" + f.keysID
	if !slices.Contains(uris, "quarry://vector_stores") || !slices.Contains(uris, "quarry://vector_stores/"+f.vsID) || !slices.Contains(uris, fileURI) || len(uris) != 4 {
		t.Errorf("resources = %v, want the list, the store and its two files", uris)
	}
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: fileURI})
	if err != nil || len(rr.Contents) != 1 || rr.Contents[0].Text != agentKeys {
		t.Errorf("read %s = %+v, %v", fileURI, rr, err)
	}
	rr, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "quarry://vector_stores/" + f.vsID})
	if err != nil || !strings.Contains(rr.Contents[0].Text, `"filename": "keys.md"`) {
		t.Errorf("read the store = %+v, %v", rr, err)
	}

	// Malformed calls: MCP errors (protocol errors or tool errors), and
	// the session goes on.
	bad := []*mcp.CallToolParams{
		{Name: "search", Arguments: map[string]any{"query": 5}},
		{Name: "search", Arguments: map[string]any{}},
		{Name: "search", Arguments: map[string]any{"query": "x", "vector_store_ids": []string{"vs_nope"}}},
		{Name: "search", Arguments: map[string]any{"query": "x", "max_num_results": 500}},
		{Name: "search", Arguments: map[string]any{"query": "x", "filters": map[string]any{"type": "bogus"}}},
		{Name: "fetch", Arguments: map[string]any{"id": "garbage"}},
		{Name: "fetch", Arguments: map[string]any{"id": f.vsID + "/" + f.keysID + "/5-999999"}},
		{Name: "fetch", Arguments: map[string]any{"id": f.vsID + "/file-missing"}},
		{Name: "nope", Arguments: map[string]any{}},
	}
	for _, p := range bad {
		res, err := cs.CallTool(ctx, p)
		if err == nil && !res.IsError {
			t.Errorf("CallTool(%s, %v) = %+v, want an MCP error", p.Name, p.Arguments, res)
		}
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "quarry://vector_stores/vs_nope/files/x"}); err == nil {
		t.Error("reading a missing resource succeeded")
	}
	if _, err := cs.ListTools(ctx, nil); err != nil {
		t.Errorf("session broken after malformed calls: %v", err)
	}
}

func TestMCPStreamableHTTP(t *testing.T) {
	f := newAgentFixture(t, noLLM)
	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: f.url + "/mcp",
		HTTPClient: &http.Client{Transport: bearer{"quarry-key", http.DefaultTransport}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	exerciseMCP(t, cs, f)

	// Behind the API key.
	if _, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: f.url + "/mcp", MaxRetries: -1}, nil); err == nil {
		t.Error("MCP without the API key connected")
	}
	resp, err := http.Post(f.url+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /mcp without a key = %d, want 401", resp.StatusCode)
	}
	// Garbage JSON-RPC gets an error status, not a crash.
	for _, body := range []string{`{`, `[]`, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":"x"}}`} {
		req, _ := http.NewRequest("POST", f.url+"/mcp", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer quarry-key")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 && !strings.Contains(string(data), `"error"`) {
			t.Errorf("POST /mcp %s = %d %s, want an error status or a JSON-RPC error", body, resp.StatusCode, data)
		}
	}
}

func TestMCPInMemory(t *testing.T) {
	f := newAgentFixture(t, noLLM)
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	srv := MCP(f.db, MCPOptions{VectorStores: []string{"handbook"}, Version: "test"})
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	exerciseMCP(t, cs, f)
}
