package chunk

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// FuzzChunk cuts arbitrary text, with sections from simple markup (see
// docFromText), under arbitrary budgets with both strategies and both
// encodings, and checks every invariant in checkChunks. Budgets go below
// the public minimum of 100 tokens so that small inputs make many chunks.
func FuzzChunk(f *testing.F) {
	f.Add("hello world", uint16(10), uint16(3), false, false)
	f.Add("# Title\n\nFirst sentence. Second one! Third?\n\n| a | b |\n| 1 | 2 |\n| 3 | 4 |\n```\ncode\n```\n\fpage two", uint16(12), uint16(5), false, false)
	f.Add(strings.Repeat("aaaa", 300), uint16(20), uint16(10), true, true)
	f.Add("中文字符测试。这是一个句子！\n\n日本語のテキスト、カタカナ。", uint16(9), uint16(4), false, true)
	f.Add("x\xff\xfe y", uint16(8), uint16(0), true, false)
	f.Fuzz(func(t *testing.T, text string, maxTok, overlap uint16, static, o200k bool) {
		if len(text) > 1<<12 {
			return
		}
		text = strings.ToValidUTF8(text, "\uFFFD")
		wd := time.AfterFunc(time.Minute, func() { panic(fmt.Sprintf("WATCHDOG %q %d %d %v %v", text, maxTok, overlap, static, o200k)) })
		defer wd.Stop()
		enc := CL100K
		if o200k {
			enc = O200K
		}
		c, err := New(enc)
		if err != nil {
			t.Fatal(err)
		}
		mt := 8 + int(maxTok)%200
		ov := int(overlap) % (mt/2 + 1)
		doc := docFromText(text)
		ctx := context.Background()
		d, err := c.prepare(ctx, doc)
		if err != nil {
			t.Fatal(err)
		}
		var chunks []Chunk
		if text != "" {
			if static {
				chunks, err = d.static(ctx, mt, ov)
			} else {
				chunks, err = d.auto(ctx, mt, ov)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := checkChunks(c, doc, chunks, mt, ov, static); err != nil {
			t.Fatalf("max %d overlap %d static %v %s: %v", mt, ov, static, enc, err)
		}
		// The public entry point, with a valid public strategy.
		s := Strategy{Type: Static, MaxTokens: 100 + int(maxTok)%3997}
		s.OverlapTokens = int(overlap) % (s.MaxTokens/2 + 1)
		if !static {
			s = Strategy{}
		}
		s = s.Normalize()
		chunks, err = c.Split(ctx, doc, s)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkChunks(c, doc, chunks, s.MaxTokens, s.OverlapTokens, static); err != nil {
			t.Fatalf("Split %+v %s: %v", s, enc, err)
		}
	})
}
