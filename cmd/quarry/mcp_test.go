package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMCPStdio runs `quarry mcp` as a child process (this test binary,
// re-executed) and talks to it with the go-sdk client over stdio.
func TestMCPStdio(t *testing.T) {
	st, docs := t.TempDir(), t.TempDir()
	body := "# Security\n\nRotate the signing keys every ninety days.\n"
	if err := os.WriteFile(filepath.Join(docs, "keys.md"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"index", docs, "--store", st}, &env{stdout: io.Discard, stderr: io.Discard}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMCPStdioHelper$")
	cmd.Env = append(os.Environ(), "QUARRY_MCP_STDIO_HELPER=1", "QUARRY_STORE="+st)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	ctx := context.Background()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, stderr.String())
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": "how often do signing keys rotate"}})
	if err != nil || res.IsError {
		t.Fatalf("search = %+v, %v\n%s", res, err, stderr.String())
	}
	var out struct {
		Results []struct {
			ID, Filename, Text string
		}
	}
	data, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(data, &out); err != nil || len(out.Results) != 1 || filepath.Base(out.Results[0].Filename) != "keys.md" {
		t.Fatalf("search results = %s", data)
	}
	fr, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "fetch", Arguments: map[string]any{"id": out.Results[0].ID}})
	if err != nil || fr.IsError || !strings.Contains(fmt.Sprint(fr.StructuredContent), "ninety days") {
		t.Errorf("fetch = %+v, %v", fr, err)
	}
	if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": []int{1}}}); err == nil && !res.IsError {
		t.Errorf("malformed search = %+v, want an MCP error", res)
	}
	if _, err := cs.ListTools(ctx, nil); err != nil {
		t.Errorf("session broken after a malformed call: %v", err)
	}
	if err := cs.Close(); err != nil {
		t.Errorf("close: %v\n%s", err, stderr.String())
	}
}

// TestMCPStdioHelper is the child process of TestMCPStdio.
func TestMCPStdioHelper(t *testing.T) {
	if os.Getenv("QUARRY_MCP_STDIO_HELPER") != "1" {
		t.Skip("the child process of TestMCPStdio")
	}
	if err := run(context.Background(), []string{"mcp"}, &env{stdout: os.Stdout, stderr: os.Stderr}); err != nil {
		fmt.Fprintln(os.Stderr, "quarry mcp:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
