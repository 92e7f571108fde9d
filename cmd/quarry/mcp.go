package main

import (
	"context"
	"io"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/quarrylabs/quarry/server"
)

func init() {
	register(&command{
		name:    "mcp",
		args:    "[flags]",
		summary: "serve the store to an MCP client (Claude Desktop, Cursor, Codex, ...) over stdio",
		long: `Speaks the Model Context Protocol on stdin and stdout until the client hangs
up: tools "search" (queries, vector stores, filters, max results: results with
ids, scores, text and citations) and "fetch" (a file's or a chunk range's
text), and the vector stores and their files as resources. Logs go to stderr;
stdout carries the protocol only. A desktop client's config:
  {"mcpServers": {"quarry": {"command": "quarry", "args": ["mcp", "--store", "/path/to/store"]}}}`,
		examples: []string{
			"quarry mcp --store ~/kb",
			"quarry mcp --vector-store handbook",
		},
		setup: func(fs *flagSet) runFunc {
			var sf storeFlags
			sf.register(fs, true)
			sf.registerEmbedder(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef(lookup(commands, "mcp"), "mcp takes no arguments")
				}
				db, err := sf.open(ctx, cliLogger(e.stderr), false)
				if err != nil {
					return err
				}
				defer db.Close()
				// --vector-store names the stores searched by default; none: all.
				srv := server.MCP(db, server.MCPOptions{VectorStores: sf.vectorStores})
				return srv.Run(ctx, &mcp.IOTransport{Reader: os.Stdin, Writer: nopWriteCloser{e.stdout}})
			}
		},
	})
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
