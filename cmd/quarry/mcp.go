package main

import (
	"context"
	"flag"
	"io"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/quarrylabs/quarry/server"
)

// cmdMCP serves the store to an MCP client (Claude Desktop, Cursor, Codex,
// ...) over stdin and stdout until the client hangs up or ctx ends. Logs go
// to stderr: stdout carries the protocol only.
func cmdMCP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	db, err := sf.open(ctx, cliLogger(stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	// --vector-store names the stores searched by default; none: all.
	srv := server.MCP(db, server.MCPOptions{VectorStores: sf.vectorStores})
	return srv.Run(ctx, &mcp.IOTransport{Reader: os.Stdin, Writer: nopWriteCloser{stdout}})
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
