package server

import (
	"encoding/json"
	"errors"
	"testing"
)

func FuzzInputMessages(f *testing.F) {
	for _, s := range []string{`"hi"`, `[{"role":"user","content":"x"}]`, `[{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":"y"}]`,
		`[{"role":"developer","content":[{"type":"input_text","text":"a"},{"type":"output_text","text":"b"}]}]`, `[{"type":"item_reference","id":"x"}]`, `{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		msgs, err := inputMessages(json.RawMessage(input))
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != 400 {
				t.Fatalf("inputMessages(%q) = %v, want a 400 *apiError", input, err)
			}
			return
		}
		for _, m := range msgs {
			switch m.Role {
			case "user", "assistant", "system":
			case "tool":
				if m.ToolCallID == "" {
					t.Fatalf("inputMessages(%q): tool message without call id", input)
				}
			default:
				t.Fatalf("inputMessages(%q): role %q", input, m.Role)
			}
		}
	})
}
