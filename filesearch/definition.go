package filesearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Name is the function name of the tool.
const Name = "file_search"

// MaxQueries is the most queries one call may run, as OpenAI's msearch.
const MaxQueries = 5

// maxQueryBytes bounds one query.
const maxQueryBytes = 4096

// Function is a function tool in the chat-completions shape:
// {"type": "function", "function": {"name", "description", "parameters"}}.
type Function struct {
	Type     string      `json:"type"` // "function"
	Function FunctionDef `json:"function"`
}

// FunctionDef is a function's name, description and JSON schema.
type FunctionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// description tells the model what the tool does and how to cite.
const description = "Search the user's files. Pass 1 to 5 short, different queries " +
	"(rephrasings or sub-questions); they run together and come back as one list of numbered " +
	"sources. Cite a source by writing its handle, such as [1], right after the statement it supports. " +
	"Cite only handles you were shown."

// parameters is the JSON schema of the arguments.
const parameters = `{"type":"object","properties":{` +
	`"queries":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":5,` +
	`"description":"1 to 5 search queries"},` +
	`"query":{"type":"string","description":"a single search query (alternative to queries)"}},` +
	`"additionalProperties":false}`

// Definition returns the tool's definition for a chat-completions request's
// "tools" list. It takes {"queries": [...]} (1 to 5) or {"query": "..."}.
func Definition() Function {
	return Function{Type: "function", Function: FunctionDef{Name: Name, Description: description, Parameters: json.RawMessage(parameters)}}
}

// Instructions is a system-prompt paragraph for models that cite poorly
// without being told; the tool description says the same more briefly.
const Instructions = "When you use file_search, cite every statement drawn from a source with " +
	"the source's handle in square brackets, such as [2], placed right after the statement. " +
	"Use only handles that appear in the search results. If the results do not answer the " +
	"question, say so."

// ParseArguments reads a call's arguments: {"queries": [...]} or
// {"query": "..."} (both may be given), or a bare JSON string or array.
// Queries are trimmed and deduplicated; empty ones are dropped. The error
// is an *ArgumentsError.
func ParseArguments(arguments string) ([]string, error) {
	data := bytes.TrimSpace([]byte(arguments))
	if len(data) == 0 {
		return nil, &ArgumentsError{Msg: `no arguments: pass {"queries": ["..."]}`}
	}
	var raw []string
	switch data[0] {
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, &ArgumentsError{Msg: "arguments are not valid JSON: " + err.Error()}
		}
		raw = []string{s}
	case '[':
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, &ArgumentsError{Msg: "queries must be strings"}
		}
	case '{':
		var a struct {
			Queries json.RawMessage `json:"queries"`
			Query   json.RawMessage `json:"query"`
		}
		if err := json.Unmarshal(data, &a); err != nil {
			return nil, &ArgumentsError{Msg: "arguments are not valid JSON: " + err.Error()}
		}
		for _, f := range []json.RawMessage{a.Queries, a.Query} {
			qs, err := stringOrList(f)
			if err != nil {
				return nil, err
			}
			raw = append(raw, qs...)
		}
	default:
		return nil, &ArgumentsError{Msg: `arguments must be a JSON object such as {"queries": ["..."]}`}
	}
	var out []string
	seen := map[string]bool{}
	for _, q := range raw {
		q = strings.TrimSpace(q)
		if q == "" || seen[q] {
			continue
		}
		if len(q) > maxQueryBytes || !utf8.ValidString(q) {
			return nil, &ArgumentsError{Msg: fmt.Sprintf("a query must be valid UTF-8 text of at most %d bytes", maxQueryBytes)}
		}
		seen[q] = true
		out = append(out, q)
	}
	switch {
	case len(out) == 0:
		return nil, &ArgumentsError{Msg: `no query: pass {"queries": ["..."]} with 1 to 5 non-empty queries`}
	case len(out) > MaxQueries:
		return nil, &ArgumentsError{Msg: fmt.Sprintf("%d queries: pass at most %d", len(out), MaxQueries)}
	}
	return out, nil
}

func stringOrList(f json.RawMessage) ([]string, error) {
	f = bytes.TrimSpace(f)
	if len(f) == 0 || string(f) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(f, &s) == nil {
		return []string{s}, nil
	}
	var l []string
	if err := json.Unmarshal(f, &l); err != nil {
		return nil, &ArgumentsError{Msg: "queries must be a list of strings"}
	}
	return l, nil
}
