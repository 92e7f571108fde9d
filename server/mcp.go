package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/quarrylabs/quarry/filesearch"
	"github.com/quarrylabs/quarry/filter"
	"github.com/quarrylabs/quarry/store"
)

// MCPOptions configures the MCP server. The zero value is valid.
type MCPOptions struct {
	// VectorStores are the stores searched when a search names none, by
	// id or name. Empty: every vector store.
	VectorStores []string
	// Version is reported to clients. Default "dev".
	Version string
}

// maxFetchChars is the default bound of a fetch's text.
const maxFetchChars = 100_000

// maxListedResources bounds resources/list.
const maxListedResources = 1000

// MCP returns the Model Context Protocol server over db: the tools search
// and fetch, and the vector stores and their files as resources
// (quarry://vector_stores, quarry://vector_stores/{vs_id},
// quarry://vector_stores/{vs_id}/files/{file_id}). Run it on a transport,
// such as mcp.StdioTransport; `quarry serve` serves the same on /mcp. db
// must stay open while it runs. File ids are those of the OpenAI-compatible
// API: an attached upload is known by its own id in every vector store.
func MCP(db *store.DB, opts MCPOptions) *mcp.Server {
	return newMCP(db, opts)
}

// mcpHandler serves the MCP server on streamable HTTP; the API key check
// of ServeHTTP covers it.
func (s *server) mcpHandler() http.Handler {
	srv := newMCP(s.db, MCPOptions{})
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{SessionTimeout: 30 * time.Minute, Logger: s.log})
}

type mcpServer struct {
	db   *store.DB
	opts MCPOptions
}

// mcpSearchIn is the search tool's input.
type mcpSearchIn struct {
	Query          string         `json:"query" jsonschema:"what to search for, in natural language or keywords"`
	Queries        []string       `json:"queries,omitempty" jsonschema:"up to 4 more queries (rephrasings, sub-questions) whose results are fused with query's"`
	VectorStoreIDs []string       `json:"vector_store_ids,omitempty" jsonschema:"vector stores to search, by id or name; default: the server's default stores"`
	Filters        map[string]any `json:"filters,omitempty" jsonschema:"attribute filter in OpenAI's shape, such as {\"type\":\"eq\",\"key\":\"team\",\"value\":\"security\"}"`
	MaxNumResults  int            `json:"max_num_results,omitempty" jsonschema:"most results to return, 1 to 50 (default 10)"`
}

// mcpResult is one search result.
type mcpResult struct {
	ID            string         `json:"id" jsonschema:"pass to fetch for the text of the chunk's range; the file's id alone fetches the whole file"`
	Title         string         `json:"title"`
	URL           string         `json:"url"`
	Text          string         `json:"text"`
	Score         float64        `json:"score"`
	Handle        int            `json:"handle"`
	FileID        string         `json:"file_id"`
	Filename      string         `json:"filename"`
	VectorStoreID string         `json:"vector_store_id"`
	ChunkID       string         `json:"chunk_id"`
	CharStart     int            `json:"char_start"`
	CharEnd       int            `json:"char_end"`
	PageStart     int            `json:"page_start,omitempty"`
	PageEnd       int            `json:"page_end,omitempty"`
	Headings      []string       `json:"headings,omitempty"`
	Attributes    map[string]any `json:"attributes,omitempty"`
}

type mcpSearchOut struct {
	Queries []string    `json:"queries"`
	Results []mcpResult `json:"results"`
}

type mcpFetchIn struct {
	ID       string `json:"id" jsonschema:"a result id from search (vs_id/file_id/start-end), or vs_id/file_id for a whole file"`
	MaxChars int    `json:"max_chars,omitempty" jsonschema:"most characters of text to return (default 100000)"`
}

type mcpFetchOut struct {
	ID        string         `json:"id"`
	Title     string         `json:"title"`
	URL       string         `json:"url"`
	Text      string         `json:"text"`
	Truncated bool           `json:"truncated,omitempty"`
	Metadata  map[string]any `json:"metadata"`
}

func newMCP(db *store.DB, opts MCPOptions) *mcp.Server {
	if opts.Version == "" {
		opts.Version = "dev"
	}
	m := &mcpServer{db: db, opts: opts}
	srv := mcp.NewServer(&mcp.Implementation{Name: "quarry", Title: "quarry file search", Version: opts.Version},
		&mcp.ServerOptions{Instructions: "Search the user's indexed files with search; read more of a file with fetch. " +
			"Cite results by filename (and page or heading when given)."})
	mcp.AddTool(srv, &mcp.Tool{Name: "search", Title: "Search files",
		Description: "Hybrid (semantic + keyword) search over quarry vector stores. Returns the best chunks with their file, " +
			"score, text and citation (chunk id, character range, pages, heading path)."}, m.search)
	mcp.AddTool(srv, &mcp.Tool{Name: "fetch", Title: "Fetch text",
		Description: "The text of a search result's range (its id) or of a whole file (vs_id/file_id)."}, m.fetch)
	srv.AddResource(&mcp.Resource{URI: "quarry://vector_stores", Name: "vector_stores", Title: "Vector stores",
		MIMEType: "application/json", Description: "Every vector store, as JSON"}, m.readResource)
	srv.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: "quarry://vector_stores/{vs_id}", Name: "vector_store",
		MIMEType: "application/json", Description: "A vector store and its files, as JSON"}, m.readResource)
	srv.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: "quarry://vector_stores/{vs_id}/files/{file_id}", Name: "file",
		MIMEType: "text/plain", Description: "A file's parsed text"}, m.readResource)
	// resources/list: the stores and files as they are now, not as they
	// were when the server started.
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == "resources/list" {
				return m.listResources(ctx)
			}
			return next(ctx, method, req)
		}
	})
	return srv
}

// stores resolves vector stores named by id or name; none means the
// defaults, or every store.
func (m *mcpServer) stores(ctx context.Context, names []string) ([]string, error) {
	if len(names) == 0 {
		names = m.opts.VectorStores
	}
	if len(names) == 0 {
		all, err := m.db.VectorStores(ctx)
		if err != nil {
			return nil, err
		}
		for _, vs := range all[:min(len(all), 100)] { // the newest 100
			names = append(names, vs.ID)
		}
		if len(names) == 0 {
			return nil, errors.New("there is no vector store to search")
		}
		return names, nil
	}
	ids := make([]string, 0, len(names))
	for _, n := range names {
		if vs, err := m.db.VectorStore(n); err == nil {
			ids = append(ids, vs.ID())
			continue
		}
		vs, err := m.db.VectorStoreByName(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("vector store %q not found", n)
		}
		ids = append(ids, vs.ID())
	}
	return ids, nil
}

func (m *mcpServer) search(ctx context.Context, _ *mcp.CallToolRequest, in mcpSearchIn) (*mcp.CallToolResult, mcpSearchOut, error) {
	var out mcpSearchOut
	queries := append([]string{in.Query}, in.Queries...)
	qs, err := filesearch.ParseArguments(mustJSON(map[string]any{"queries": queries}))
	if err != nil {
		return nil, out, err
	}
	ids, err := m.stores(ctx, in.VectorStoreIDs)
	if err != nil {
		return nil, out, err
	}
	cfg := filesearch.Config{VectorStoreIDs: ids, MaxResults: in.MaxNumResults}
	if in.Filters != nil {
		var f filter.Filter
		if err := json.Unmarshal([]byte(mustJSON(in.Filters)), &f); err != nil {
			return nil, out, fmt.Errorf("invalid filters: %v", err)
		}
		if err := f.Validate(); err != nil {
			return nil, out, fmt.Errorf("invalid filters: %v", err)
		}
		cfg.Filter = &f
	}
	tool, err := filesearch.New(m.db, cfg)
	if err != nil {
		return nil, out, errors.New(strings.TrimPrefix(err.Error(), "filesearch: "))
	}
	res, err := tool.Search(ctx, qs)
	if err != nil {
		return nil, out, fmt.Errorf("search failed: %v", cleanMessage(err))
	}
	out.Queries = res.Queries
	out.Results = make([]mcpResult, 0, len(res.Sources))
	for _, s := range res.Sources {
		fid := s.FileID
		out.Results = append(out.Results, mcpResult{
			ID: fmt.Sprintf("%s/%s/%d-%d", s.VectorStoreID, fid, s.CharStart, s.CharEnd), Title: s.Filename,
			URL: fileURI(s.VectorStoreID, fid), Text: s.Text, Score: s.Score, Handle: s.Handle,
			FileID: fid, Filename: s.Filename, VectorStoreID: s.VectorStoreID, ChunkID: s.ChunkID,
			CharStart: s.CharStart, CharEnd: s.CharEnd, PageStart: s.PageStart, PageEnd: s.PageEnd, Headings: s.Headings,
			Attributes: s.Attributes,
		})
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: res.Text}}}, out, nil
}

func fileURI(vsID, fileID string) string {
	return "quarry://vector_stores/" + url.PathEscape(vsID) + "/files/" + url.PathEscape(fileID)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// parseFetchID reads vs_id/file_id or vs_id/file_id/start-end.
func parseFetchID(id string) (vsID, fileID string, start, end int, ranged bool, err error) {
	parts := strings.Split(id, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return "", "", 0, 0, false, fmt.Errorf("invalid id %q: expected vs_id/file_id or vs_id/file_id/start-end", id)
	}
	if len(parts) == 3 {
		a, b, ok := strings.Cut(parts[2], "-")
		var e1, e2 error
		start, e1 = strconv.Atoi(a)
		end, e2 = strconv.Atoi(b)
		if !ok || e1 != nil || e2 != nil || start < 0 || end < start {
			return "", "", 0, 0, false, fmt.Errorf("invalid range %q in id: expected start-end", parts[2])
		}
		ranged = true
	}
	return parts[0], parts[1], start, end, ranged, nil
}

func (m *mcpServer) fetch(ctx context.Context, _ *mcp.CallToolRequest, in mcpFetchIn) (*mcp.CallToolResult, mcpFetchOut, error) {
	var out mcpFetchOut
	vsID, wire, start, end, ranged, err := parseFetchID(in.ID)
	if err != nil {
		return nil, out, err
	}
	limit := in.MaxChars
	if limit <= 0 {
		limit = maxFetchChars
	}
	vs, err := m.db.VectorStore(vsID)
	if err != nil {
		return nil, out, fmt.Errorf("vector store %q not found", vsID)
	}
	fid := wire
	f, err := vs.File(ctx, fid)
	if err != nil {
		return nil, out, fmt.Errorf("file %q not found in vector store %q", wire, vsID)
	}
	text, err := vs.FileContent(ctx, fid)
	if err != nil {
		return nil, out, fmt.Errorf("read file: %v", cleanMessage(err))
	}
	runes := []rune(text)
	if !ranged {
		start, end = 0, len(runes)
	}
	if end > len(runes) {
		return nil, out, fmt.Errorf("range %d-%d is outside the file's %d characters", start, end, len(runes))
	}
	if end-start > limit {
		end, out.Truncated = start+limit, true
	}
	out.ID, out.Title, out.URL, out.Text = in.ID, f.Filename, fileURI(vsID, wire), string(runes[start:end])
	attrs := f.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	out.Metadata = map[string]any{"vector_store_id": vsID, "file_id": wire, "char_start": start, "char_end": end,
		"characters": len(runes), "attributes": attrs}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: out.Text}}}, out, nil
}

func (m *mcpServer) listResources(ctx context.Context) (*mcp.ListResourcesResult, error) {
	res := &mcp.ListResourcesResult{Resources: []*mcp.Resource{{URI: "quarry://vector_stores", Name: "vector_stores",
		Title: "Vector stores", MIMEType: "application/json"}}}
	all, err := m.db.VectorStores(ctx)
	if err != nil {
		return nil, err
	}
	for _, info := range all {
		res.Resources = append(res.Resources, &mcp.Resource{URI: "quarry://vector_stores/" + url.PathEscape(info.ID), Name: info.ID,
			Title: info.Name, MIMEType: "application/json", Description: fmt.Sprintf("vector store %q: %d files", info.Name, info.FileCounts.Total)})
		vs, err := m.db.VectorStore(info.ID)
		if err != nil {
			continue // deleted meanwhile
		}
		files, err := vs.AllFiles(ctx)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if len(res.Resources) >= maxListedResources {
				return res, nil
			}
			if f.Status != store.StatusCompleted {
				continue
			}
			fid := f.ID
			res.Resources = append(res.Resources, &mcp.Resource{URI: fileURI(info.ID, fid), Name: fid, Title: f.Filename,
				MIMEType: "text/plain", Size: f.Bytes})
		}
	}
	return res, nil
}

func (m *mcpServer) readResource(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	uri := req.Params.URI
	rest, ok := strings.CutPrefix(uri, "quarry://vector_stores")
	if !ok {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	for i, p := range parts {
		var err error
		if parts[i], err = url.PathUnescape(p); err != nil {
			return nil, mcp.ResourceNotFoundError(uri)
		}
	}
	asJSON := func(v any) (*mcp.ReadResourceResult, error) {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return nil, err
		}
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(b)}}}, nil
	}
	switch {
	case rest == "":
		all, err := m.db.VectorStores(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]vectorStoreJSON, len(all))
		for i := range all {
			out[i] = vectorStoreOf(&all[i])
		}
		return asJSON(out)
	case len(parts) == 1:
		vs, err := m.db.VectorStore(parts[0])
		if err != nil {
			return nil, mcp.ResourceNotFoundError(uri)
		}
		info, err := vs.Info(ctx)
		if err != nil {
			return nil, err
		}
		files, err := vs.AllFiles(ctx)
		if err != nil {
			return nil, err
		}
		type fileEntry struct {
			ID       string           `json:"id"`
			Filename string           `json:"filename"`
			Status   store.FileStatus `json:"status"`
			Bytes    int64            `json:"bytes"`
			URI      string           `json:"uri"`
		}
		entries := make([]fileEntry, 0, len(files))
		for _, f := range files {
			fid := f.ID
			entries = append(entries, fileEntry{ID: fid, Filename: f.Filename, Status: f.Status, Bytes: f.Bytes, URI: fileURI(info.ID, fid)})
		}
		return asJSON(map[string]any{"vector_store": vectorStoreOf(info), "files": entries})
	case len(parts) == 3 && parts[1] == "files":
		vs, err := m.db.VectorStore(parts[0])
		if err != nil {
			return nil, mcp.ResourceNotFoundError(uri)
		}
		text, err := vs.FileContent(ctx, parts[2])
		if err != nil {
			return nil, mcp.ResourceNotFoundError(uri)
		}
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "text/plain", Text: text}}}, nil
	}
	return nil, mcp.ResourceNotFoundError(uri)
}
