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
	"unicode/utf8"

	"github.com/quarrylabs/quarry/filesearch"
	"github.com/quarrylabs/quarry/internal/chat"
)

// maxInputItems bounds the items of a request's input.
const maxInputItems = 4096

// maxSearchesPerRound bounds the file_search calls run from one reply of
// the model; further calls get an error message.
const maxSearchesPerRound = 8

// inputMessages turns a request's input (a string or a list of items)
// into chat messages. file_search_call and reasoning items are skipped:
// what they found is in the messages that follow them.
func inputMessages(raw json.RawMessage) ([]chat.Message, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid("input", "invalid 'input': %v", err)
		}
		return []chat.Message{{Role: "user", Content: s}}, nil
	}
	var items []struct {
		Type      string          `json:"type"`
		Role      string          `json:"role"`
		Content   json.RawMessage `json:"content"`
		CallID    string          `json:"call_id"`
		Name      string          `json:"name"`
		Arguments string          `json:"arguments"`
		Output    json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, invalid("input", "invalid 'input': expected a string or a list of input items")
	}
	if len(items) > maxInputItems {
		return nil, invalid("input", "invalid 'input': more than %d items", maxInputItems)
	}
	var out []chat.Message
	for i, it := range items {
		param := fmt.Sprintf("input[%d]", i)
		typ := it.Type
		if typ == "" && it.Role != "" {
			typ = "message"
		}
		switch typ {
		case "message":
			role := it.Role
			switch role {
			case "user", "assistant", "system":
			case "developer":
				role = "system"
			default:
				return nil, invalid(param+".role", "invalid '%s.role': expected user, assistant, system or developer, got %q", param, it.Role)
			}
			text, err := contentText(it.Content, param+".content")
			if err != nil {
				return nil, err
			}
			out = append(out, chat.Message{Role: role, Content: text})
		case "function_call":
			if it.CallID == "" || it.Name == "" {
				return nil, invalid(param, "invalid '%s': a function_call needs call_id and name", param)
			}
			call := chat.ToolCall{ID: it.CallID, Type: "function", Function: chat.FunctionCall{Name: it.Name, Arguments: it.Arguments}}
			if n := len(out); n > 0 && out[n-1].Role == "assistant" && len(out[n-1].ToolCalls) > 0 {
				out[n-1].ToolCalls = append(out[n-1].ToolCalls, call)
			} else {
				out = append(out, chat.Message{Role: "assistant", ToolCalls: []chat.ToolCall{call}})
			}
		case "function_call_output":
			if it.CallID == "" {
				return nil, invalid(param+".call_id", "missing required parameter: '%s.call_id'", param)
			}
			text, err := contentText(it.Output, param+".output")
			if err != nil {
				return nil, err
			}
			out = append(out, chat.Message{Role: "tool", ToolCallID: it.CallID, Content: text})
		case "file_search_call", "reasoning":
		default:
			return nil, invalid(param+".type", "invalid '%s.type': quarry supports message, function_call and function_call_output items, got %q", param, typ)
		}
	}
	return out, nil
}

// contentText reads a message's content: a string or a list of text parts.
func contentText(raw json.RawMessage, param string) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", invalid(param, "invalid '%s': %v", param, err)
		}
		return s, nil
	}
	var parts []struct {
		Type    string `json:"type"`
		Text    string `json:"text"`
		Refusal string `json:"refusal"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", invalid(param, "invalid '%s': expected a string or a list of content parts", param)
	}
	var texts []string
	for i, p := range parts {
		switch p.Type {
		case "input_text", "output_text", "text":
			texts = append(texts, p.Text)
		case "refusal":
			texts = append(texts, p.Refusal)
		default:
			return "", invalid(fmt.Sprintf("%s[%d].type", param, i), "invalid '%s[%d].type': quarry's upstream takes text only, got %q", param, i, p.Type)
		}
	}
	return strings.Join(texts, "\n"), nil
}

// execute runs the tool loop and fills r.resp, sending the stream's
// events when streaming. The error is an *apiError.
func (r *run) execute(ctx context.Context) error {
	r.resp.Usage = &usage{}
	r.event("response.created", map[string]any{"response": r.resp})
	r.event("response.in_progress", map[string]any{"response": r.resp})
	err := r.loop(ctx)
	if err != nil {
		ae := upstreamError(err)
		code := "server_error"
		if s, ok := ae.Code.(string); ok && s != "" {
			code = s
		}
		r.resp.Status = "failed"
		r.resp.Error = &responseError{Code: code, Message: ae.Message}
		r.event("response.failed", map[string]any{"response": r.resp})
		return ae
	}
	now := time.Now().Unix()
	r.resp.CompletedAt = &now
	if r.resp.Status != "incomplete" {
		r.resp.Status = "completed"
	}
	// Saved before the last event, so that a client continuing from it
	// finds it.
	if r.store {
		if err := r.s.saveResponse(ctx, r); err != nil {
			r.s.log.Error("save response", "id", r.resp.ID, "err", err)
		}
	}
	if r.resp.Status == "incomplete" {
		r.event("response.incomplete", map[string]any{"response": r.resp})
	} else {
		r.event("response.completed", map[string]any{"response": r.resp})
	}
	return nil
}

// loop asks the model, runs its file_search calls, and asks again, until
// it answers, calls a client function, or runs out of rounds.
func (r *run) loop(ctx context.Context) error {
	for round := 0; ; round++ {
		last := round >= r.rounds
		req := r.req
		req.Messages = r.history
		if r.system != "" {
			req.Messages = append([]chat.Message{{Role: "system", Content: r.system}}, r.history...)
		}
		req.Tools, req.ToolChoice = r.tools, r.choice
		if len(r.tools) == 0 {
			req.ToolChoice = nil
		} else if last || r.calls == 0 {
			req.ToolChoice = "none"
		}
		reply, err := r.client.Complete(ctx, &req)
		if err != nil {
			return err
		}
		r.resp.Usage.add(reply.Usage)
		ch := reply.Choices[0]
		msg := ch.Message
		if len(msg.ToolCalls) == 0 || req.ToolChoice == "none" {
			if len(msg.ToolCalls) > 0 && msg.Content == "" {
				// The model ignored tool_choice "none": nothing to show.
				r.resp.Status = "incomplete"
				r.resp.IncompleteDetails = &incomplete{Reason: "max_tool_calls"}
				return nil
			}
			r.answer(msg.Content, ch.FinishReason)
			return nil
		}
		for i := range msg.ToolCalls {
			if msg.ToolCalls[i].ID == "" {
				msg.ToolCalls[i].ID = newID("call_")
			}
			msg.ToolCalls[i].Type = "function"
		}
		r.history = append(r.history, chat.Message{Role: "assistant", Content: msg.Content, ToolCalls: msg.ToolCalls})
		var fn []chat.ToolCall
		searches := 0
		for _, c := range msg.ToolCalls {
			switch name := c.Function.Name; {
			case name == filesearch.Name && r.fs != nil && searches == maxSearchesPerRound:
				r.toolMessage(c.ID, fmt.Sprintf("error: at most %d file_search calls per turn; put up to %d queries in one call", maxSearchesPerRound, filesearch.MaxQueries))
			case name == filesearch.Name && r.fs != nil:
				searches++
				if err := r.fileSearch(ctx, c); err != nil {
					return err
				}
			case r.fnNames[name]:
				fn = append(fn, c)
			default:
				r.toolMessage(c.ID, fmt.Sprintf("error: there is no tool named %q", name))
			}
		}
		if len(fn) > 0 {
			for _, c := range fn {
				r.functionCall(c)
			}
			return nil
		}
		if s, ok := r.choice.(string); (ok && s == "required") || (!ok && r.choice != nil) {
			r.choice = "auto" // a forced choice forces the first round only
		}
	}
}

func (r *run) toolMessage(callID, text string) {
	r.history = append(r.history, chat.Message{Role: "tool", ToolCallID: callID, Content: text})
}

// fileSearch runs one file_search call as an output item. Bad arguments
// fail the call and tell the model why; a failed search fails the
// response.
func (r *run) fileSearch(ctx context.Context, c chat.ToolCall) error {
	item := &fileSearchCall{ID: newID("fs_"), Type: "file_search_call", Status: "in_progress", Queries: []string{}}
	idx := r.addOutput(item)
	ids := map[string]any{"output_index": idx, "item_id": item.ID}
	r.event("response.file_search_call.in_progress", ids)
	if r.calls == 0 {
		item.Status = "failed"
		r.doneOutput(idx)
		r.toolMessage(c.ID, "error: no more searches are allowed in this response; answer with what you have")
		return nil
	}
	if r.calls > 0 {
		r.calls--
	}
	qs, err := filesearch.ParseArguments(c.Function.Arguments)
	if err != nil {
		item.Status = "failed"
		r.doneOutput(idx)
		r.toolMessage(c.ID, "error: "+err.Error())
		return nil
	}
	item.Queries = qs
	r.event("response.file_search_call.searching", ids)
	res, err := r.fs.Search(ctx, qs)
	if err != nil {
		item.Status = "failed"
		r.doneOutput(idx)
		return err
	}
	item.Status = "completed"
	if r.include {
		item.Results = make([]fileSearchResult, 0, len(res.Sources))
		for _, s := range res.Sources {
			attrs := s.Attributes
			if attrs == nil {
				attrs = map[string]any{}
			}
			item.Results = append(item.Results, fileSearchResult{
				FileID: s.FileID, Filename: s.Filename, Score: s.Score, Text: s.Text,
				Attributes: attrs, Quarry: extOf(s),
			})
		}
	}
	r.event("response.file_search_call.completed", ids)
	r.doneOutput(idx)
	r.toolMessage(c.ID, res.Text)
	return nil
}

func extOf(s filesearch.Source) sourceExt {
	return sourceExt{Handle: s.Handle, VectorStoreID: s.VectorStoreID, ChunkID: s.ChunkID, CharStart: s.CharStart, CharEnd: s.CharEnd,
		PageStart: s.PageStart, PageEnd: s.PageEnd, Headings: s.Headings}
}

// functionCall hands a call of a client function to the client.
func (r *run) functionCall(c chat.ToolCall) {
	item := &functionCallItem{ID: newID("fc_"), Type: "function_call", Status: "in_progress", CallID: c.ID, Name: c.Function.Name}
	idx := r.addOutput(item)
	ids := map[string]any{"output_index": idx, "item_id": item.ID}
	if c.Function.Arguments != "" {
		r.event("response.function_call_arguments.delta", with(ids, "delta", c.Function.Arguments))
	}
	item.Arguments, item.Status = c.Function.Arguments, "completed"
	r.event("response.function_call_arguments.done", with(with(ids, "arguments", item.Arguments), "name", item.Name))
	r.doneOutput(idx)
}

// answer adds the model's answer as a message with its citations.
func (r *run) answer(content, finish string) {
	r.history = append(r.history, chat.Message{Role: "assistant", Content: content})
	sources := r.sources()
	ans := filesearch.Cite(content, sources)
	part := outputText{Type: "output_text", Text: ans.Text, Annotations: []fileCitation{}, Logprobs: []any{}}
	if len(sources) > 0 && (ans.Fallback || len(ans.Unresolved) > 0) {
		part.Quarry = &textExt{CitationFallback: ans.Fallback, Unresolved: ans.Unresolved}
	}
	for _, c := range ans.Citations {
		part.Annotations = append(part.Annotations, fileCitation{
			Type: "file_citation", FileID: c.FileID, Filename: c.Filename, Index: c.Index,
			Quarry: sourceExt{Handle: c.Handle, VectorStoreID: c.VectorStoreID, ChunkID: c.ChunkID, CharStart: c.CharStart, CharEnd: c.CharEnd,
				PageStart: c.PageStart, PageEnd: c.PageEnd, Headings: c.Headings},
		})
	}
	status := "completed"
	switch finish {
	case "length":
		status = "incomplete"
		r.resp.IncompleteDetails = &incomplete{Reason: "max_output_tokens"}
	case "content_filter":
		status = "incomplete"
		r.resp.IncompleteDetails = &incomplete{Reason: "content_filter"}
	}
	if status == "incomplete" {
		r.resp.Status = "incomplete"
	}
	item := &messageItem{ID: newID("msg_"), Type: "message", Status: "in_progress", Role: "assistant", Content: []outputText{}}
	idx := r.addOutput(item)
	ids := map[string]any{"output_index": idx, "item_id": item.ID, "content_index": 0}
	if r.sse != nil {
		r.event("response.content_part.added", with(ids, "part", outputText{Type: "output_text", Text: "", Annotations: []fileCitation{}, Logprobs: []any{}}))
		// Text deltas up to each annotation's index, then the annotation.
		runes := []rune(part.Text)
		at := 0
		for ai, a := range part.Annotations {
			r.textDeltas(ids, runes[at:a.Index])
			at = a.Index
			r.event("response.output_text.annotation.added", with(with(ids, "annotation_index", ai), "annotation", a))
		}
		r.textDeltas(ids, runes[at:])
		r.event("response.output_text.done", with(with(ids, "text", part.Text), "logprobs", []any{}))
		r.event("response.content_part.done", with(ids, "part", part))
	}
	item.Content = []outputText{part}
	item.Status = status
	r.doneOutput(idx)
}

// textDeltas sends text as deltas of about a word each.
func (r *run) textDeltas(ids map[string]any, text []rune) {
	for len(text) > 0 {
		n := 1
		for n < len(text) && n < 64 && !(text[n-1] == ' ' || text[n-1] == '\n') {
			n++
		}
		r.event("response.output_text.delta", with(with(ids, "delta", string(text[:n])), "logprobs", []any{}))
		text = text[n:]
	}
}

func with(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out[k] = v
	return out
}

func (r *run) addOutput(item any) int {
	idx := len(r.resp.Output)
	r.resp.Output = append(r.resp.Output, item)
	r.event("response.output_item.added", map[string]any{"output_index": idx, "item": item})
	return idx
}

func (r *run) doneOutput(idx int) {
	r.event("response.output_item.done", map[string]any{"output_index": idx, "item": r.resp.Output[idx]})
}

// event sends one event of the stream; without a stream it does nothing.
func (r *run) event(typ string, fields map[string]any) {
	if r.sse == nil {
		return
	}
	fields["type"] = typ
	fields["sequence_number"] = r.seq
	r.seq++
	r.sse.send(typ, fields)
}

// sseWriter writes server-sent events, flushing each.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error // the first write error; later events are dropped
}

func (s *sseWriter) send(typ string, v any) {
	if s.err != nil {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.err = err
		return
	}
	data := bytes.TrimRight(buf.Bytes(), "\n")
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", typ, data); err != nil {
		s.err = err
		return
	}
	s.err = s.rc.Flush()
}

// upstreamError turns a failure of the loop into an API error: the
// upstream model's failures in OpenAI's shape, the rest as the API maps
// them.
func upstreamError(err error) *apiError {
	var ce *chat.Error
	switch {
	case errors.As(err, &ce):
		msg := ce.Message
		if !utf8.ValidString(msg) {
			msg = strings.ToValidUTF8(msg, "\uFFFD")
		}
		switch {
		case ce.Status == http.StatusTooManyRequests:
			return &apiError{Status: http.StatusTooManyRequests, Type: "rate_limit_error", Code: "rate_limit_exceeded", Message: "upstream model: " + msg}
		case ce.Status >= 400 && ce.Status < 500 && ce.Status != http.StatusUnauthorized && ce.Status != http.StatusForbidden:
			return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "upstream_error",
				Message: fmt.Sprintf("upstream model rejected the request (status %d): %s", ce.Status, msg)}
		case ce.Status == 0:
			return &apiError{Status: http.StatusBadGateway, Type: "server_error", Code: "upstream_error", Message: "upstream model unreachable: " + msg}
		default:
			return &apiError{Status: http.StatusBadGateway, Type: "server_error", Code: "upstream_error",
				Message: fmt.Sprintf("upstream model failed (status %d): %s", ce.Status, msg)}
		}
	case errors.Is(err, chat.ErrNoChoice):
		return &apiError{Status: http.StatusBadGateway, Type: "server_error", Code: "upstream_error", Message: "upstream model: " + err.Error()}
	}
	return toAPIError(err)
}
