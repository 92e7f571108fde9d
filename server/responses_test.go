package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/quarrylabs/quarry/internal/chat"
	"github.com/quarrylabs/quarry/store"
)

// standIn is a chat-completions server on loopback that plays a script:
// reply(n, req) answers the n-th request (from 0).
type standIn struct {
	mu    sync.Mutex
	reqs  []chat.Request
	reply func(n int, req chat.Request) (int, any)
	url   string
}

func newStandIn(t *testing.T, reply func(n int, req chat.Request) (int, any)) *standIn {
	si := &standIn{reply: reply}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer upstream-key" {
			http.Error(w, "stand-in: wrong path or key", http.StatusNotFound)
			return
		}
		var req chat.Request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		si.mu.Lock()
		n := len(si.reqs)
		si.reqs = append(si.reqs, req)
		si.mu.Unlock()
		status, body := si.reply(n, req)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(hs.Close)
	si.url = hs.URL + "/v1"
	return si
}

func (si *standIn) requests() []chat.Request {
	si.mu.Lock()
	defer si.mu.Unlock()
	return append([]chat.Request(nil), si.reqs...)
}

func completion(msg map[string]any, finish string) map[string]any {
	msg["role"] = "assistant"
	return map[string]any{"id": "chatcmpl-x", "object": "chat.completion", "model": "stand-in",
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   map[string]any{"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}}
}

func callSearch(args ...string) map[string]any {
	var calls []any
	for i, a := range args {
		calls = append(calls, map[string]any{"id": fmt.Sprintf("call_%d", i), "type": "function",
			"function": map[string]any{"name": "file_search", "arguments": a}})
	}
	return completion(map[string]any{"content": nil, "tool_calls": calls}, "tool_calls")
}

func answer(text string) map[string]any {
	return completion(map[string]any{"content": text}, "stop")
}

var handleLine = regexp.MustCompile(`(?m)^\[(\d+)\] (\S+?)[,\n]`)

// handles reads the handles the tool messages showed, by filename.
func handles(req chat.Request) map[string][]string {
	out := map[string][]string{}
	for _, m := range req.Messages {
		if m.Role == "tool" {
			for _, sm := range handleLine.FindAllStringSubmatch(m.Content, -1) {
				out[sm[2]] = append(out[sm[2]], sm[1])
			}
		}
	}
	return out
}

// citeKeys answers citing the first handle shown for keys.md.
func citeKeys(req chat.Request) map[string]any {
	h := handles(req)["keys.md"]
	if len(h) == 0 {
		return answer("I could not find it.")
	}
	return answer("Signing keys are rotated every ninety days [" + h[0] + "]. That is all.")
}

const (
	agentKeys  = "# Security\n\n## Key rotation\n\nRotate the signing keys every ninety days. The rotation of signing keys is done by the platform team with the vault tool.\n"
	agentLunch = "# Cafeteria\n\nThe cafeteria serves lunch from noon. Vegetarian dishes every day, soup on Mondays and fish on Fridays.\n"
)

type agentFixture struct {
	db     *store.DB
	url    string
	client openai.Client
	vsID   string
	keysID string // the upload id of keys.md
	si     *standIn
}

// newAgentFixture serves quarry with the stand-in as its LLM, and puts
// keys.md (uploaded through /v1/files) and lunch.md in a vector store.
func newAgentFixture(t *testing.T, reply func(n int, req chat.Request) (int, any)) *agentFixture {
	t.Helper()
	ctx := context.Background()
	si := newStandIn(t, reply)
	db, err := store.Open(ctx, t.TempDir(), store.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := New(db, Options{APIKey: "quarry-key", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		LLM: &LLM{BaseURL: si.url, APIKey: "upstream-key", Model: "stand-in-model"}})
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	client := openai.NewClient(option.WithBaseURL(hs.URL+"/v1"), option.WithAPIKey("quarry-key"), option.WithMaxRetries(0))
	vs, err := client.VectorStores.New(ctx, openai.VectorStoreNewParams{Name: openai.String("handbook")})
	if err != nil {
		t.Fatal(err)
	}
	up, err := client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(agentKeys), "keys.md", "text/markdown"), Purpose: openai.FilePurposeAssistants})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.VectorStores.Files.New(ctx, vs.ID, openai.VectorStoreFileNewParams{FileID: up.ID}); err != nil {
		t.Fatal(err)
	}
	svs, err := db.VectorStore(vs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svs.AddFile(ctx, store.FileInput{Name: "lunch.md", Body: strings.NewReader(agentLunch)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := client.VectorStores.Get(ctx, vs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if info.FileCounts.Completed == 2 {
			break
		}
		if info.FileCounts.Failed > 0 || time.Now().After(deadline) {
			t.Fatalf("files not ingested: %+v", info.FileCounts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &agentFixture{db: db, url: hs.URL, client: client, vsID: vs.ID, keysID: up.ID, si: si}
}

func (f *agentFixture) params(input string) responses.ResponseNewParams {
	return responses.ResponseNewParams{
		Model:   "gpt-4o-mini",
		Input:   responses.ResponseNewParamsInputUnion{OfString: openai.String(input)},
		Tools:   []responses.ToolUnionParam{{OfFileSearch: &responses.FileSearchToolParam{VectorStoreIDs: []string{f.vsID}}}},
		Include: []responses.ResponseIncludable{responses.ResponseIncludableFileSearchCallResults},
	}
}

// checkCitations checks that every file_citation of resp names a result
// of its file_search calls and that the cited file holds the cited text
// at the cited range.
func (f *agentFixture) checkCitations(t *testing.T, resp *responses.Response) int {
	t.Helper()
	ctx := context.Background()
	type result struct{ fileID, text string }
	results := map[string]result{} // by chunk id
	for _, item := range resp.Output {
		if item.Type != "file_search_call" {
			continue
		}
		for _, r := range item.AsFileSearchCall().Results {
			var ext sourceExt
			if err := quarryExt(r.RawJSON(), &ext); err != nil {
				t.Fatalf("result without quarry extension: %s", r.RawJSON())
			}
			results[ext.ChunkID] = result{r.FileID, r.Text}
		}
	}
	n := 0
	for _, item := range resp.Output {
		if item.Type != "message" {
			continue
		}
		for _, c := range item.AsMessage().Content {
			runes := len([]rune(c.Text))
			for _, a := range c.Annotations {
				fc := a.AsFileCitation()
				if a.Type != "file_citation" || fc.Index < 0 || int(fc.Index) > runes {
					t.Errorf("annotation %s: index outside the %d-character text", a.RawJSON(), runes)
				}
				var ext sourceExt
				if err := quarryExt(a.RawJSON(), &ext); err != nil {
					t.Fatalf("annotation without quarry extension: %s", a.RawJSON())
				}
				res, ok := results[ext.ChunkID]
				if !ok || res.fileID != fc.FileID {
					t.Errorf("citation of chunk %s in %s, which no file_search_call returned", ext.ChunkID, fc.FileID)
					continue
				}
				page, err := f.client.VectorStores.Files.Content(ctx, f.vsID, fc.FileID)
				if err != nil || len(page.Data) != 1 {
					t.Fatalf("content of %s = %v, %v", fc.FileID, page, err)
				}
				text := []rune(page.Data[0].Text)
				if ext.CharEnd > len(text) || ext.CharStart >= ext.CharEnd {
					t.Fatalf("cited range %d-%d outside the %d-character file", ext.CharStart, ext.CharEnd, len(text))
				}
				if got := string(text[ext.CharStart:ext.CharEnd]); strings.TrimSpace(got) != strings.TrimSpace(res.text) {
					t.Errorf("file %s at %d-%d = %q, want the cited result's text %q", fc.Filename, ext.CharStart, ext.CharEnd, got, res.text)
				}
				n++
			}
		}
	}
	return n
}

func fnOutput(callID, output string) responses.ResponseInputItemUnionParam {
	item := responses.ResponseInputItemParamOfFunctionCallOutput(output)
	item.OfFunctionCallOutput.CallID = openai.String(callID)
	return item
}

// quarryExt decodes the "quarry" extension of an object's JSON.
func quarryExt(raw string, v any) error {
	var o struct {
		Quarry json.RawMessage `json:"quarry"`
	}
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		return err
	}
	if len(o.Quarry) == 0 {
		return errors.New("no quarry extension")
	}
	return json.Unmarshal(o.Quarry, v)
}

func types(resp *responses.Response) []string {
	var out []string
	for _, item := range resp.Output {
		out = append(out, item.Type+":"+item.Status)
	}
	return out
}

func TestResponsesScripts(t *testing.T) {
	tests := []struct {
		name  string
		reply func(n int, req chat.Request) (int, any)
		types []string
		cites int
		check func(t *testing.T, f *agentFixture, resp *responses.Response)
	}{
		{
			name: "one query",
			reply: func(n int, req chat.Request) (int, any) {
				if n == 0 {
					return 200, callSearch(`{"query":"how often are signing keys rotated"}`)
				}
				return 200, citeKeys(req)
			},
			types: []string{"file_search_call:completed", "message:completed"},
			cites: 1,
			check: func(t *testing.T, f *agentFixture, resp *responses.Response) {
				fsc := resp.Output[0].AsFileSearchCall()
				if len(fsc.Queries) != 1 || len(fsc.Results) == 0 {
					t.Errorf("file_search_call = %s", fsc.RawJSON())
				}
				want := "Signing keys are rotated every ninety days. That is all."
				if got := resp.OutputText(); got != want {
					t.Errorf("output text = %q, want %q", got, want)
				}
				a := resp.Output[1].AsMessage().Content[0].Annotations[0].AsFileCitation()
				if a.FileID != f.keysID || a.Filename != "keys.md" || a.Index != int64(len("Signing keys are rotated every ninety days")) {
					t.Errorf("citation = %s, want keys.md (%s) at the end of the first sentence", a.RawJSON(), f.keysID)
				}
				if resp.Usage.InputTokens != 200 || resp.Usage.OutputTokens != 20 || resp.Usage.TotalTokens != 220 {
					t.Errorf("usage = %s, want the two rounds summed", resp.Usage.RawJSON())
				}
			},
		},
		{
			name: "five queries",
			reply: func(n int, req chat.Request) (int, any) {
				if n == 0 {
					return 200, callSearch(`{"queries":["key rotation","signing keys","vault tool","lunch","fish on Fridays"]}`)
				}
				h := handles(req)
				return 200, answer(fmt.Sprintf("Keys rotate every ninety days [%s]; fish is served on Fridays [%s].", h["keys.md"][0], h["lunch.md"][0]))
			},
			types: []string{"file_search_call:completed", "message:completed"},
			cites: 2,
			check: func(t *testing.T, f *agentFixture, resp *responses.Response) {
				if q := resp.Output[0].AsFileSearchCall().Queries; len(q) != 5 {
					t.Errorf("queries = %q, want 5", q)
				}
			},
		},
		{
			name: "two rounds",
			reply: func(n int, req chat.Request) (int, any) {
				switch n {
				case 0:
					return 200, callSearch(`{"query":"cafeteria lunch"}`)
				case 1:
					return 200, callSearch(`{"queries":["signing key rotation"]}`)
				}
				h := handles(req)
				return 200, answer(fmt.Sprintf("Lunch is from noon [%s]. Keys rotate every ninety days [%s].", h["lunch.md"][0], h["keys.md"][0]))
			},
			types: []string{"file_search_call:completed", "file_search_call:completed", "message:completed"},
			cites: 2,
		},
		{
			name: "no tool call",
			reply: func(n int, req chat.Request) (int, any) {
				return 200, answer("Hello! Ask me about the handbook [1].")
			},
			types: []string{"message:completed"},
			cites: 0,
			check: func(t *testing.T, f *agentFixture, resp *responses.Response) {
				if got := resp.OutputText(); got != "Hello! Ask me about the handbook [1]." {
					t.Errorf("output text = %q; a marker citing nothing shown must stay", got)
				}
			},
		},
		{
			name: "malformed arguments",
			reply: func(n int, req chat.Request) (int, any) {
				if n == 0 {
					return 200, callSearch(`{"queries": ["unterminated`)
				}
				if n == 1 {
					last := req.Messages[len(req.Messages)-1]
					if last.Role != "tool" || !strings.Contains(last.Content, "invalid file_search arguments") {
						return 200, answer("the tool error did not reach the model: " + last.Content)
					}
					return 200, callSearch(`{"query":"signing keys rotation"}`)
				}
				return 200, citeKeys(req)
			},
			types: []string{"file_search_call:failed", "file_search_call:completed", "message:completed"},
			cites: 1,
		},
		{
			name: "answer without markers",
			reply: func(n int, req chat.Request) (int, any) {
				if n == 0 {
					return 200, callSearch(`{"query":"signing keys"}`)
				}
				return 200, answer("Keys rotate every ninety days [7].")
			},
			types: []string{"file_search_call:completed", "message:completed"},
			cites: 0,
			check: func(t *testing.T, f *agentFixture, resp *responses.Response) {
				part := resp.Output[1].AsMessage().Content[0]
				var ext textExt
				quarryExt(part.RawJSON(), &ext)
				if !ext.CitationFallback || len(ext.Unresolved) != 1 || len(part.Annotations) != 0 {
					t.Errorf("output_text = %s, want the citation fallback flagged, [7] unresolved and no annotation", part.RawJSON())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAgentFixture(t, tt.reply)
			resp, err := f.client.Responses.New(context.Background(), f.params("How often are signing keys rotated?"))
			if err != nil {
				t.Fatal(err)
			}
			if got := types(resp); strings.Join(got, " ") != strings.Join(tt.types, " ") {
				t.Fatalf("output = %v, want %v\n%s", got, tt.types, resp.RawJSON())
			}
			if resp.Status != "completed" || resp.Model != "stand-in-model" || !strings.HasPrefix(resp.ID, "resp_") {
				t.Errorf("response status %q model %q id %q", resp.Status, resp.Model, resp.ID)
			}
			if n := f.checkCitations(t, resp); n != tt.cites {
				t.Errorf("%d citations, want %d\n%s", n, tt.cites, resp.RawJSON())
			}
			for _, req := range f.si.requests() {
				if req.Model != "stand-in-model" {
					t.Errorf("upstream model = %q, want the server's", req.Model)
				}
				if len(req.Tools) != 1 || !strings.Contains(string(req.Tools[0]), `"name":"file_search"`) {
					t.Errorf("upstream tools = %s", req.Tools)
				}
			}
			if tt.check != nil {
				tt.check(t, f, resp)
			}
		})
	}
}

func TestResponsesUpstreamFailure(t *testing.T) {
	f := newAgentFixture(t, func(n int, req chat.Request) (int, any) {
		return 500, map[string]any{"error": map[string]any{"message": "model crashed", "type": "server_error"}}
	})
	_, err := f.client.Responses.New(context.Background(), f.params("hi"))
	var ae *openai.Error
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadGateway || ae.Type != "server_error" || ae.Code != "upstream_error" || !strings.Contains(ae.Message, "model crashed") {
		t.Fatalf("Responses.New with a failing upstream = %v, want a 502 server_error naming the upstream's message", err)
	}

	// Streaming: the stream ends with response.failed.
	stream := f.client.Responses.NewStreaming(context.Background(), f.params("hi"))
	var last responses.ResponseStreamEventUnion
	for stream.Next() {
		last = stream.Current()
	}
	if last.Type != "response.failed" || last.Response.Error.Code != "upstream_error" {
		t.Errorf("last event = %s, want response.failed with upstream_error (stream err %v)", last.RawJSON(), stream.Err())
	}
}

func TestResponsesSearchErrorIsAnError(t *testing.T) {
	f := newAgentFixture(t, func(n int, req chat.Request) (int, any) {
		if n == 0 {
			return 200, callSearch(`{"query":"keys"}`)
		}
		return 200, answer("no results, apparently")
	})
	// The store closes under the server: the search fails, and so must
	// the response.
	f.db.Close()
	_, err := f.client.Responses.New(context.Background(), f.params("hi"))
	var ae *openai.Error
	if !errors.As(err, &ae) || ae.StatusCode < 500 {
		t.Fatalf("Responses.New with a failing search = %v, want a server error", err)
	}
}

func TestResponsesStreaming(t *testing.T) {
	script := func(n int, req chat.Request) (int, any) {
		if n%2 == 0 {
			return 200, callSearch(`{"query":"signing keys rotation"}`)
		}
		return 200, citeKeys(req)
	}
	f := newAgentFixture(t, script)
	ctx := context.Background()
	stream := f.client.Responses.NewStreaming(ctx, f.params("How often are signing keys rotated?"))
	var events []string
	var text strings.Builder
	var final responses.Response
	seq := int64(0)
	for stream.Next() {
		ev := stream.Current()
		if ev.SequenceNumber != seq {
			t.Errorf("event %s has sequence number %d, want %d", ev.Type, ev.SequenceNumber, seq)
		}
		seq++
		if ev.Type == "response.output_text.delta" {
			text.WriteString(ev.Delta)
			if len(events) > 0 && events[len(events)-1] == ev.Type {
				continue
			}
		}
		events = append(events, ev.Type)
		if ev.Type == "response.completed" {
			final = ev.AsResponseCompleted().Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"response.created", "response.in_progress",
		"response.output_item.added", "response.file_search_call.in_progress", "response.file_search_call.searching",
		"response.file_search_call.completed", "response.output_item.done",
		"response.output_item.added", "response.content_part.added", "response.output_text.delta",
		"response.output_text.annotation.added", "response.output_text.delta", "response.output_text.done",
		"response.content_part.done", "response.output_item.done", "response.completed",
	}
	if strings.Join(events, " ") != strings.Join(want, " ") {
		t.Errorf("events =\n%v\nwant\n%v", events, want)
	}
	if text.String() != final.OutputText() || final.OutputText() != "Signing keys are rotated every ninety days. That is all." {
		t.Errorf("streamed text %q, final text %q", text.String(), final.OutputText())
	}
	if n := f.checkCitations(t, &final); n != 1 {
		t.Errorf("final streamed response has %d citations, want 1", n)
	}

	// The same request without streaming gives the same response (but ids
	// and times).
	plain, err := f.client.Responses.New(ctx, f.params("How often are signing keys rotated?"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(types(plain), " ") != strings.Join(types(&final), " ") || plain.OutputText() != final.OutputText() {
		t.Errorf("streamed response %v %q differs from the plain one %v %q", types(&final), final.OutputText(), types(plain), plain.OutputText())
	}
	sa := final.Output[1].AsMessage().Content[0].Annotations
	pa := plain.Output[1].AsMessage().Content[0].Annotations
	if len(sa) != 1 || len(pa) != 1 || sa[0].RawJSON() != pa[0].RawJSON() {
		t.Errorf("annotations differ: streamed %v, plain %v", sa, pa)
	}

	// The stored response is the streamed one.
	got, err := f.client.Responses.Get(ctx, final.ID, responses.ResponseGetParams{})
	if err != nil || got.OutputText() != final.OutputText() {
		t.Errorf("Responses.Get = %v, %v", got, err)
	}
}

func TestResponsesPreviousAndPassThrough(t *testing.T) {
	f := newAgentFixture(t, func(n int, req chat.Request) (int, any) {
		switch n {
		case 0:
			return 200, callSearch(`{"query":"signing keys rotation"}`)
		case 1:
			return 200, citeKeys(req)
		case 2: // second turn: a client function
			return 200, completion(map[string]any{"content": "", "tool_calls": []any{map[string]any{"id": "call_weather", "type": "function",
				"function": map[string]any{"name": "get_weather", "arguments": `{"city":"Paris"}`}}}}, "tool_calls")
		}
		// third turn: cite the handle shown in the first turn.
		return 200, answer("As said, keys rotate every ninety days [1], and it is sunny.")
	})
	ctx := context.Background()
	p := f.params("How often are signing keys rotated?")
	p.Instructions = openai.String("Answer briefly.")
	p.Temperature = openai.Float(0.2)
	p.MaxOutputTokens = openai.Int(300)
	first, err := f.client.Responses.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.si.requests()
	if r := reqs[0]; r.Messages[0].Role != "system" || !strings.HasPrefix(r.Messages[0].Content, "Answer briefly.") ||
		r.Temperature == nil || *r.Temperature != 0.2 || r.MaxTokens == nil || *r.MaxTokens != 300 {
		t.Errorf("upstream request = %+v, want instructions, temperature and max tokens passed through", r)
	}

	weather := responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{Name: "get_weather",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}
	p2 := responses.ResponseNewParams{
		Model: "gpt-4o-mini", PreviousResponseID: openai.String(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("And the weather?")},
		Tools: []responses.ToolUnionParam{weather},
	}
	second, err := f.client.Responses.New(ctx, p2)
	if err != nil {
		t.Fatal(err)
	}
	if got := types(second); len(got) != 1 || got[0] != "function_call:completed" {
		t.Fatalf("second turn output = %v, want one function_call", got)
	}
	fc := second.Output[0].AsFunctionCall()
	if fc.Name != "get_weather" || fc.Arguments != `{"city":"Paris"}` || fc.CallID != "call_weather" {
		t.Errorf("function call = %s", fc.RawJSON())
	}
	// The function tool reached the model untouched, and the history of
	// the first turn with it.
	r2 := f.si.requests()[2]
	if len(r2.Tools) != 1 || !strings.Contains(string(r2.Tools[0]), `"get_weather"`) || !strings.Contains(string(r2.Tools[0]), `"city"`) {
		t.Errorf("second turn tools = %s", r2.Tools)
	}
	if len(r2.Messages) < 5 || !strings.Contains(r2.Messages[len(r2.Messages)-2].Content, "ninety days [1]") {
		t.Errorf("second turn messages = %+v, want the first turn's conversation before the new input", r2.Messages)
	}

	third, err := f.client.Responses.New(ctx, responses.ResponseNewParams{
		Model: "gpt-4o-mini", PreviousResponseID: openai.String(second.ID),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			fnOutput("call_weather", `{"sky":"sunny"}`)}},
		Tools: []responses.ToolUnionParam{weather},
	})
	if err != nil {
		t.Fatal(err)
	}
	r3 := f.si.requests()[3]
	if last := r3.Messages[len(r3.Messages)-1]; last.Role != "tool" || last.ToolCallID != "call_weather" || last.Content != `{"sky":"sunny"}` {
		t.Errorf("third turn's last message = %+v, want the function output", last)
	}
	anns := third.Output[0].AsMessage().Content[0].Annotations
	if len(anns) != 1 || anns[0].AsFileCitation().FileID != f.keysID {
		t.Errorf("third turn annotations = %v, want the first turn's source [1] (keys.md)", anns)
	}

	if _, err := f.client.Responses.New(ctx, responses.ResponseNewParams{Model: "m", PreviousResponseID: openai.String("resp_nope"),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("x")}}); err == nil {
		t.Error("unknown previous_response_id accepted")
	} else if ae := (*openai.Error)(nil); !errors.As(err, &ae) || ae.StatusCode != 404 || ae.Param != "previous_response_id" {
		t.Errorf("unknown previous_response_id = %v, want 404 on previous_response_id", err)
	}
}

func TestResponsesBadRequests(t *testing.T) {
	f := newAgentFixture(t, func(n int, req chat.Request) (int, any) { return 200, answer("ok") })
	tests := []struct {
		body  string
		param string
	}{
		{`{"model":"m"}`, "input"},
		{`{"model":"m","input":"x","tools":[{"type":"web_search"}]}`, "tools[0].type"},
		{`{"model":"m","input":"x","tools":[{"type":"file_search","vector_store_ids":["vs_missing"]}]}`, "tools[0].vector_store_ids"},
		{`{"model":"m","input":"x","tools":[{"type":"file_search","vector_store_ids":[]}]}`, "tools[0].vector_store_ids"},
		{`{"model":"m","input":"x","tools":[{"type":"file_search","vector_store_ids":["x"],"max_num_results":99}]}`, "tools[0].vector_store_ids"},
		{`{"model":"m","input":"x","temperature":7}`, "temperature"},
		{`{"model":"m","input":"x","include":["bogus"]}`, "include"},
		{`{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"x"}]}]}`, "input[0].content[0].type"},
		{`{"model":"m","input":"x","tool_choice":{"type":"file_search"}}`, "tool_choice"},
		{`{"model":"m","input":"x","bogus":1}`, "bogus"},
		{`{"model":`, ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("POST", f.url+"/v1/responses", strings.NewReader(tt.body))
		req.Header.Set("Authorization", "Bearer quarry-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Error apiError `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		param := ""
		if out.Error.Param != nil {
			param = *out.Error.Param
		}
		if resp.StatusCode != 400 || out.Error.Type != "invalid_request_error" || param != tt.param {
			t.Errorf("POST /v1/responses %s = %d %+v (param %q), want 400 on %q", tt.body, resp.StatusCode, out.Error, param, tt.param)
		}
	}
	if n := len(f.si.requests()); n != 0 {
		t.Errorf("%d upstream requests for bad requests, want 0", n)
	}
}

func TestResponsesNotConfigured(t *testing.T) {
	db, err := store.Open(context.Background(), t.TempDir(), store.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hs := httptest.NewServer(New(db, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer hs.Close()
	resp, err := http.Post(hs.URL+"/v1/responses", "application/json", strings.NewReader(`{"model":"m","input":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("POST /v1/responses without an LLM = %d, want 501", resp.StatusCode)
	}
}

func TestResponsesBoundedRounds(t *testing.T) {
	// A model that never stops searching, and ignores tool_choice "none".
	f := newAgentFixture(t, func(n int, req chat.Request) (int, any) {
		return 200, callSearch(`{"query":"keys"}`)
	})
	p := f.params("keys?")
	p.Include = nil
	resp, err := f.client.Responses.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.si.requests()
	if len(reqs) != 5 {
		t.Fatalf("%d upstream requests, want 5 (4 rounds of searches, then one that must answer)", len(reqs))
	}
	if reqs[4].ToolChoice != "none" || reqs[3].ToolChoice == "none" {
		t.Errorf("tool_choice of the last two requests = %v, %v; want the last one none", reqs[3].ToolChoice, reqs[4].ToolChoice)
	}
	if resp.Status != "incomplete" || resp.IncompleteDetails.Reason != "max_tool_calls" || len(resp.Output) != 4 {
		t.Errorf("response status %q (%s), %d items; want incomplete after 4 searches", resp.Status, resp.IncompleteDetails.RawJSON(), len(resp.Output))
	}
	for _, item := range resp.Output {
		if !strings.Contains(item.RawJSON(), `"results":null`) || len(item.AsFileSearchCall().Queries) != 1 {
			t.Errorf("file_search_call without include = %s, want its queries and results null", item.RawJSON())
		}
	}
}

func TestResponsesManyCallsInOneReply(t *testing.T) {
	f := newAgentFixture(t, func(n int, req chat.Request) (int, any) {
		if n == 0 {
			args := make([]string, 20)
			for i := range args {
				args[i] = fmt.Sprintf(`{"query":"keys %d"}`, i)
			}
			return 200, callSearch(args...)
		}
		tools := 0
		for _, m := range req.Messages {
			if m.Role == "tool" {
				tools++
			}
		}
		return 200, answer(fmt.Sprintf("%d tool messages", tools))
	})
	resp, err := f.client.Responses.New(context.Background(), f.params("keys?"))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Output) != maxSearchesPerRound+1 || resp.OutputText() != "20 tool messages" {
		t.Errorf("output %v, text %q; want %d searches and an answer to every call", types(resp), resp.OutputText(), maxSearchesPerRound)
	}
	// Stored responses can be fetched and deleted.
	ctx := context.Background()
	if _, err := f.client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{}); err != nil {
		t.Fatal(err)
	}
	if err := f.client.Responses.Delete(ctx, resp.ID); err != nil {
		t.Fatal(err)
	}
	var ae *openai.Error
	if _, err := f.client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{}); !errors.As(err, &ae) || ae.StatusCode != 404 {
		t.Errorf("Get after Delete = %v, want 404", err)
	}
}
