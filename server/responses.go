package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/quarrylabs/quarry/filesearch"
	"github.com/quarrylabs/quarry/filter"
	"github.com/quarrylabs/quarry/internal/chat"
	"github.com/quarrylabs/quarry/store"
)

// LLM is the upstream chat model that POST /v1/responses drives: any
// OpenAI-compatible chat-completions endpoint.
type LLM struct {
	// BaseURL is the endpoint's API base, such as https://api.openai.com/v1,
	// http://localhost:11434/v1 (Ollama) or http://localhost:8000/v1
	// (vLLM, llama.cpp server). Empty: POST /v1/responses answers 501.
	BaseURL string
	// Model, when set, is the upstream model of every response, whatever
	// the request's "model" says; empty means the request's model.
	Model string
	// APIKey is sent to the endpoint as a bearer token.
	APIKey string
	// MaxRounds bounds the tool rounds of a response: after that many
	// rounds of file_search calls the model must answer. Default 4.
	MaxRounds int
	// HTTP is the client for the endpoint; nil means a default one.
	HTTP *http.Client
}

// agentRoutes registers the Responses API and MCP endpoints.
func (s *server) agentRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/responses", s.createResponse)
	m.HandleFunc("GET /v1/responses/{response_id}", s.getResponse)
	m.HandleFunc("DELETE /v1/responses/{response_id}", s.deleteResponse)
	m.Handle("/mcp", s.mcpHandler())
}

// responseBody is the request of POST /v1/responses. Fields quarry does
// not act on but clients commonly send are accepted and ignored (see
// ignored).
type responseBody struct {
	Model              string            `json:"model"`
	Input              json.RawMessage   `json:"input"`
	Instructions       *string           `json:"instructions"`
	Tools              []json.RawMessage `json:"tools"`
	ToolChoice         json.RawMessage   `json:"tool_choice"`
	Include            []string          `json:"include"`
	Stream             bool              `json:"stream"`
	PreviousResponseID string            `json:"previous_response_id"`
	MaxOutputTokens    *int              `json:"max_output_tokens"`
	MaxToolCalls       *int              `json:"max_tool_calls"`
	Temperature        *float64          `json:"temperature"`
	TopP               *float64          `json:"top_p"`
	ParallelToolCalls  *bool             `json:"parallel_tool_calls"`
	Store              *bool             `json:"store"`
	Metadata           map[string]string `json:"metadata"`
	Text               *textConfig       `json:"text"`

	// Accepted and ignored: they change nothing a chat-completions
	// upstream can honour.
	User             json.RawMessage `json:"user"`
	Truncation       json.RawMessage `json:"truncation"`
	Reasoning        json.RawMessage `json:"reasoning"`
	ServiceTier      json.RawMessage `json:"service_tier"`
	PromptCacheKey   json.RawMessage `json:"prompt_cache_key"`
	SafetyIdentifier json.RawMessage `json:"safety_identifier"`
	Background       *bool           `json:"background"`
	StreamOptions    json.RawMessage `json:"stream_options"`
}

type textConfig struct {
	Format *struct {
		Type   string          `json:"type"` // text, json_object, json_schema
		Name   string          `json:"name,omitempty"`
		Schema json.RawMessage `json:"schema,omitempty"`
		Strict *bool           `json:"strict,omitempty"`
	} `json:"format"`
	Verbosity json.RawMessage `json:"verbosity,omitempty"`
}

// fileSearchTool is {"type": "file_search", ...} in a request's tools.
type fileSearchTool struct {
	Type           string                `json:"type"`
	VectorStoreIDs []string              `json:"vector_store_ids"`
	MaxNumResults  *int                  `json:"max_num_results"`
	Filters        *filter.Filter        `json:"filters"`
	RankingOptions *store.RankingOptions `json:"ranking_options"`
}

// functionTool is {"type": "function", ...} in a request's tools.
type functionTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// savedResponse is what the store keeps of a response: the response and
// the conversation up to its end, so that previous_response_id continues
// it.
type savedResponse struct {
	Response *responseObject     `json:"response"`
	Messages []chat.Message      `json:"messages"` // without instructions
	Sources  []filesearch.Source `json:"sources,omitempty"`
}

// responseObject is a response in OpenAI's shape.
type responseObject struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"` // "response"
	CreatedAt          int64             `json:"created_at"`
	CompletedAt        *int64            `json:"completed_at"`
	Status             string            `json:"status"` // in_progress, completed, incomplete, failed
	Error              *responseError    `json:"error"`
	IncompleteDetails  *incomplete       `json:"incomplete_details"`
	Instructions       *string           `json:"instructions"`
	MaxOutputTokens    *int              `json:"max_output_tokens"`
	MaxToolCalls       *int              `json:"max_tool_calls"`
	Model              string            `json:"model"`
	Output             []any             `json:"output"`
	ParallelToolCalls  bool              `json:"parallel_tool_calls"`
	PreviousResponseID *string           `json:"previous_response_id"`
	Temperature        *float64          `json:"temperature"`
	TopP               *float64          `json:"top_p"`
	ToolChoice         json.RawMessage   `json:"tool_choice"`
	Tools              []json.RawMessage `json:"tools"`
	Text               json.RawMessage   `json:"text"`
	Truncation         string            `json:"truncation"`
	Store              bool              `json:"store"`
	Metadata           map[string]string `json:"metadata"`
	Usage              *usage            `json:"usage"`
}

type responseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type incomplete struct {
	Reason string `json:"reason"`
}

type usage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

func (u *usage) add(c chat.Usage) {
	u.InputTokens += c.PromptTokens
	u.InputTokensDetails.CachedTokens += c.PromptTokensDetails.CachedTokens
	u.OutputTokens += c.CompletionTokens
	u.OutputTokensDetails.ReasoningTokens += c.CompletionTokensDetails.ReasoningTokens
	u.TotalTokens = u.InputTokens + u.OutputTokens
}

// fileSearchCall is a file_search_call output item.
type fileSearchCall struct {
	ID      string             `json:"id"`
	Type    string             `json:"type"` // "file_search_call"
	Status  string             `json:"status"`
	Queries []string           `json:"queries"`
	Results []fileSearchResult `json:"results"` // null unless included
}

// fileSearchResult is one result of a file_search_call, with quarry's
// citation fields under "quarry".
type fileSearchResult struct {
	FileID     string         `json:"file_id"`
	Filename   string         `json:"filename"`
	Score      float64        `json:"score"`
	Text       string         `json:"text"`
	Attributes map[string]any `json:"attributes"`
	Quarry     sourceExt      `json:"quarry"`
}

// sourceExt is quarry's citation extension of results and annotations.
type sourceExt struct {
	Handle        int      `json:"handle"`
	VectorStoreID string   `json:"vector_store_id"`
	ChunkID       string   `json:"chunk_id"`
	CharStart     int      `json:"char_start"`
	CharEnd       int      `json:"char_end"`
	PageStart     int      `json:"page_start,omitempty"`
	PageEnd       int      `json:"page_end,omitempty"`
	Headings      []string `json:"headings,omitempty"`
}

// messageItem is a message output item.
type messageItem struct {
	ID      string       `json:"id"`
	Type    string       `json:"type"` // "message"
	Status  string       `json:"status"`
	Role    string       `json:"role"` // "assistant"
	Content []outputText `json:"content"`
}

// outputText is an output_text content part.
type outputText struct {
	Type        string         `json:"type"` // "output_text"
	Text        string         `json:"text"`
	Annotations []fileCitation `json:"annotations"`
	Logprobs    []any          `json:"logprobs"`
	// Quarry says when the answer cited nothing it was shown
	// (citation_fallback) and which markers named no source.
	Quarry *textExt `json:"quarry,omitempty"`
}

type textExt struct {
	CitationFallback bool     `json:"citation_fallback,omitempty"`
	Unresolved       []string `json:"unresolved_markers,omitempty"`
}

// fileCitation is a file_citation annotation.
type fileCitation struct {
	Type     string    `json:"type"` // "file_citation"
	FileID   string    `json:"file_id"`
	Filename string    `json:"filename"`
	Index    int       `json:"index"`
	Quarry   sourceExt `json:"quarry"`
}

// functionCallItem is a function_call output item, for the client to run.
type functionCallItem struct {
	ID        string `json:"id"`
	Type      string `json:"type"` // "function_call"
	Status    string `json:"status"`
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

func (s *server) createResponse(w http.ResponseWriter, r *http.Request) {
	var b responseBody
	if err := decodeJSON(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	run, err := s.newRun(r.Context(), &b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if b.Stream {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		run.sse = &sseWriter{w: w, rc: http.NewResponseController(w)}
	}
	err = run.execute(r.Context())
	if err != nil {
		s.log.Warn("response failed", "id", run.resp.ID, "err", err)
	}
	if b.Stream {
		return // execute sent response.completed or response.failed
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run.resp)
}

func (s *server) saveResponse(ctx context.Context, run *run) error {
	data, err := json.Marshal(savedResponse{Response: run.resp, Messages: run.history, Sources: run.sources()})
	if err != nil {
		return err
	}
	return s.db.PutResponse(context.WithoutCancel(ctx), run.resp.ID, data)
}

func (s *server) loadResponse(ctx context.Context, id string) (*savedResponse, error) {
	if !strings.HasPrefix(id, "resp_") {
		return nil, notFound("no response found with id '%s'", id)
	}
	data, err := s.db.Response(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no response found with id '%s'", id)
	}
	if err != nil {
		return nil, err
	}
	var sr savedResponse
	if err := json.Unmarshal(data, &sr); err != nil || sr.Response == nil {
		return nil, fmt.Errorf("%w: saved response %s: %v", store.ErrCorrupt, id, err)
	}
	return &sr, nil
}

func (s *server) getResponse(w http.ResponseWriter, r *http.Request) {
	sr, err := s.loadResponse(r.Context(), r.PathValue("response_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sr.Response)
}

func (s *server) deleteResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("response_id")
	if _, err := s.loadResponse(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.db.DeleteResponse(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "response.deleted", "deleted": true})
}

// run is one response being made.
type run struct {
	s       *server
	client  *chat.Client
	model   string
	resp    *responseObject
	include bool // file_search_call.results
	store   bool
	rounds  int // file_search rounds allowed
	calls   int // file_search calls allowed (max_tool_calls), -1: unbounded

	system   string
	history  []chat.Message // the conversation, without instructions
	tools    []json.RawMessage
	choice   any // tool_choice for the upstream
	fnNames  map[string]bool
	fs       *filesearch.Tool
	prior    []filesearch.Source // sources of earlier turns
	req      chat.Request        // upstream parameters but messages and tools
	sse      *sseWriter          // nil unless streaming
	seq      int
	outIndex int
}

func (r *run) sources() []filesearch.Source {
	if r.fs == nil {
		return r.prior
	}
	return r.fs.Sources()
}

// newRun validates the request and prepares the conversation.
func (s *server) newRun(ctx context.Context, b *responseBody) (*run, error) {
	if s.opts.LLM == nil || s.opts.LLM.BaseURL == "" {
		return nil, &apiError{Status: http.StatusNotImplemented, Type: "invalid_request_error", Code: "llm_not_configured",
			Message: "POST /v1/responses needs an upstream chat model: start 'quarry serve' with --llm-base-url (and --llm-model, --llm-api-key) or QUARRY_LLM_BASE_URL"}
	}
	llm := s.opts.LLM
	model := llm.Model
	if model == "" {
		model = b.Model
	}
	if model == "" {
		return nil, invalid("model", "missing required parameter: 'model'")
	}
	client := &chat.Client{BaseURL: llm.BaseURL, APIKey: llm.APIKey, HTTP: llm.HTTP}
	if _, err := client.Endpoint(); err != nil {
		return nil, &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: err.Error()}
	}
	ru := &run{s: s, client: client, model: model, store: b.Store == nil || *b.Store, rounds: llm.MaxRounds, calls: -1, fnNames: map[string]bool{}}
	if ru.rounds <= 0 {
		ru.rounds = 4
	}
	if n := b.MaxOutputTokens; n != nil && *n < 16 {
		return nil, invalid("max_output_tokens", "invalid 'max_output_tokens': must be at least 16, got %d", *n)
	}
	if t := b.Temperature; t != nil && (*t < 0 || *t > 2) {
		return nil, invalid("temperature", "invalid 'temperature': must be between 0 and 2, got %v", *t)
	}
	if p := b.TopP; p != nil && (*p < 0 || *p > 1) {
		return nil, invalid("top_p", "invalid 'top_p': must be between 0 and 1, got %v", *p)
	}
	if n := b.MaxToolCalls; n != nil {
		if *n < 0 {
			return nil, invalid("max_tool_calls", "invalid 'max_tool_calls': must be at least 0, got %d", *n)
		}
		ru.calls = *n
	}
	for _, inc := range b.Include {
		switch inc {
		case "file_search_call.results":
			ru.include = true
		case "message.output_text.logprobs", "reasoning.encrypted_content":
		default:
			return nil, invalid("include", "invalid 'include': unsupported value %q", inc)
		}
	}
	if len(b.Metadata) > 16 {
		return nil, invalid("metadata", "invalid 'metadata': at most 16 keys")
	}
	ru.req = chat.Request{Model: model, Temperature: b.Temperature, TopP: b.TopP, MaxTokens: b.MaxOutputTokens, ParallelTools: b.ParallelToolCalls}
	text := json.RawMessage(`{"format":{"type":"text"}}`)
	if b.Text != nil && b.Text.Format != nil {
		f := b.Text.Format
		switch f.Type {
		case "text":
		case "json_object":
			ru.req.ResponseFormat = json.RawMessage(`{"type":"json_object"}`)
		case "json_schema":
			if f.Name == "" || len(f.Schema) == 0 {
				return nil, invalid("text.format", "invalid 'text.format': json_schema needs a name and a schema")
			}
			rf, _ := json.Marshal(map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": f.Name, "schema": f.Schema, "strict": f.Strict}})
			ru.req.ResponseFormat = rf
		default:
			return nil, invalid("text.format.type", "invalid 'text.format.type': expected text, json_object or json_schema, got %q", f.Type)
		}
		text, _ = json.Marshal(b.Text)
	}

	var prior []filesearch.Source
	var prevID *string
	if id := b.PreviousResponseID; id != "" {
		sr, err := s.loadResponse(ctx, id)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
				p := "previous_response_id"
				ae.Param = &p
			}
			return nil, err
		}
		ru.history = sr.Messages
		prior = sr.Sources
		ru.prior = prior
		prevID = &id
	}
	if err := ru.tools_(ctx, b.Tools, prior); err != nil {
		return nil, err
	}
	choice, err := ru.toolChoice(b.ToolChoice)
	if err != nil {
		return nil, err
	}
	ru.choice = choice
	msgs, err := inputMessages(b.Input)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, invalid("input", "missing required parameter: 'input'")
	}
	ru.history = append(ru.history, msgs...)
	if b.Instructions != nil {
		ru.system = *b.Instructions
	}
	if ru.fs != nil {
		ru.system = strings.TrimSpace(ru.system + "\n\n" + filesearch.Instructions)
	}
	toolChoice := b.ToolChoice
	if len(toolChoice) == 0 {
		toolChoice = json.RawMessage(`"auto"`)
	}
	tools := b.Tools
	if tools == nil {
		tools = []json.RawMessage{}
	}
	md := b.Metadata
	if md == nil {
		md = map[string]string{}
	}
	ru.resp = &responseObject{
		ID: newID("resp_"), Object: "response", CreatedAt: time.Now().Unix(), Status: "in_progress",
		Instructions: b.Instructions, MaxOutputTokens: b.MaxOutputTokens, MaxToolCalls: b.MaxToolCalls, Model: model, Output: []any{},
		ParallelToolCalls: b.ParallelToolCalls == nil || *b.ParallelToolCalls, PreviousResponseID: prevID,
		Temperature: b.Temperature, TopP: b.TopP, ToolChoice: toolChoice, Tools: tools, Text: text, Truncation: "disabled",
		Store: ru.store, Metadata: md,
	}
	return ru, nil
}

// tools_ reads the request's tools: at most one file_search, whose stores
// must exist, and function tools, passed to the model as they are.
func (r *run) tools_(ctx context.Context, tools []json.RawMessage, prior []filesearch.Source) error {
	for i, raw := range tools {
		param := fmt.Sprintf("tools[%d]", i)
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return invalid(param, "invalid '%s': %v", param, err)
		}
		switch head.Type {
		case "file_search":
			if r.fs != nil {
				return invalid(param, "invalid '%s': only one file_search tool is supported", param)
			}
			var t fileSearchTool
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&t); err != nil {
				return invalid(param, "invalid '%s': %v", param, err)
			}
			if len(t.VectorStoreIDs) == 0 {
				return invalid(param+".vector_store_ids", "missing required parameter: '%s.vector_store_ids'", param)
			}
			for _, id := range t.VectorStoreIDs {
				if _, err := r.s.db.VectorStore(id); err != nil {
					if errors.Is(err, store.ErrNotFound) {
						return invalid(param+".vector_store_ids", "vector store '%s' not found", id)
					}
					return err
				}
			}
			cfg := filesearch.Config{VectorStoreIDs: t.VectorStoreIDs, Filter: t.Filters, Sources: prior}
			if n := t.MaxNumResults; n != nil {
				if *n < 1 || *n > 50 {
					return invalid(param+".max_num_results", "invalid '%s.max_num_results': must be between 1 and 50, got %d", param, *n)
				}
				cfg.MaxResults = *n
			}
			if t.RankingOptions != nil {
				cfg.Ranking = *t.RankingOptions
			}
			fs, err := filesearch.New(r.s.db, cfg)
			if err != nil {
				return invalid(param, "invalid '%s': %s", param, strings.TrimPrefix(cleanMessage(errors.Unwrap(err)), "invalid request: "))
			}
			r.fs = fs
			def, _ := json.Marshal(filesearch.Definition())
			r.tools = append(r.tools, def)
		case "function":
			var f functionTool
			if err := json.Unmarshal(raw, &f); err != nil {
				return invalid(param, "invalid '%s': %v", param, err)
			}
			if f.Name == "" || len(f.Name) > 64 {
				return invalid(param+".name", "invalid '%s.name': must be 1 to 64 characters", param)
			}
			if f.Name == filesearch.Name || r.fnNames[f.Name] {
				return invalid(param+".name", "invalid '%s.name': %q is already a tool", param, f.Name)
			}
			r.fnNames[f.Name] = true
			params := f.Parameters
			if len(params) == 0 {
				params = json.RawMessage(`{"type":"object","properties":{}}`)
			}
			def, _ := json.Marshal(map[string]any{"type": "function", "function": map[string]any{
				"name": f.Name, "description": f.Description, "parameters": params, "strict": f.Strict}})
			r.tools = append(r.tools, def)
		default:
			return invalid(param+".type", "invalid '%s.type': quarry supports file_search and function tools, got %q", param, head.Type)
		}
	}
	return nil
}

// toolChoice maps the Responses tool_choice to the chat one.
func (r *run) toolChoice(raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "auto", "none", "required":
			return s, nil
		}
		return nil, invalid("tool_choice", "invalid 'tool_choice': expected auto, none, required or an object, got %q", s)
	}
	var o struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, invalid("tool_choice", "invalid 'tool_choice': %v", err)
	}
	name := o.Name
	switch {
	case o.Type == "file_search" && r.fs != nil:
		name = filesearch.Name
	case o.Type == "function" && r.fnNames[o.Name]:
	default:
		return nil, invalid("tool_choice", "invalid 'tool_choice': no such tool (%s %s) in 'tools'", o.Type, o.Name)
	}
	return map[string]any{"type": "function", "function": map[string]string{"name": name}}, nil
}
