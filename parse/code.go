package parse

import (
	"context"
	"strings"
)

// minCodeBlock is the size below which a source file's top-level blocks are
// merged with the next one, so a file does not shatter into one section per
// import line.
const minCodeBlock = 512

// codeText reads a source file as CodeBlock sections, cut before top-level
// lines (no indentation) that follow a blank line: functions, classes and
// other definitions in most languages.
func codeText(ctx context.Context, b *builder, text string) error {
	t := &ticker{ctx: ctx}
	start := 0
	prevBlank := false
	for off := 0; off < len(text); {
		if err := t.err(); err != nil {
			return err
		}
		end := lineEnd(text, off)
		line := trimEOL(text[off:end])
		blank := isBlank(line)
		if !blank && prevBlank && off-start >= minCodeBlock && isTopLevel(line) {
			b.add(text[start:off], Section{Kind: CodeBlock})
			start = off
		}
		prevBlank = blank
		off = end
	}
	b.add(text[start:], Section{Kind: CodeBlock})
	return nil
}

// isTopLevel reports whether line starts a top-level construct: it is not
// indented and does not close a block.
func isTopLevel(line string) bool {
	if line == "" || line[0] == ' ' || line[0] == '\t' {
		return false
	}
	return !strings.ContainsRune("})]", rune(line[0]))
}
