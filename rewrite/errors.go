package rewrite

import "errors"

var (
	// ErrEmptyQuery is returned for a query that is empty or only white
	// space.
	ErrEmptyQuery = errors.New("rewrite: empty query")
	// ErrLLMResponse is reported (through LLMOptions.OnError) when a chat
	// completion holds no usable queries.
	ErrLLMResponse = errors.New("rewrite: unusable llm response")
)
