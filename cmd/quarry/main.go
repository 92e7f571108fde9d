// Command quarry indexes folders of documents and searches them, on local
// disk, with the embedded defaults (no server, no API key).
//
//	quarry index DIR                 index DIR (recursively); changed files are re-indexed
//	quarry search [--dir DIR] QUERY  search (indexing DIR first when given)
//	quarry ls                        list the files of a vector store (--stores: the stores)
//	quarry rm PATH|FILE_ID...        remove files from a vector store
//	quarry bench ann|ir ...          run the benchmark harness
//	quarry mcp                       serve the store to an MCP client over stdio
//
// Global flags: --store DIR (or $QUARRY_STORE; default ~/.local/share/quarry),
// --vector-store NAME (default "default"), --embedder SPEC (or
// $QUARRY_EMBEDDER; default "local"), --dimensions N (or $QUARRY_DIMENSIONS).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

const usage = `quarry: local retrieval over your files

Usage:
  quarry index DIR                  index DIR recursively (changed files re-indexed, unchanged skipped)
  quarry search [--dir DIR] QUERY   search; with --dir, index DIR first
  quarry ls [--stores]              list files (or vector stores)
  quarry rm PATH|FILE_ID...         remove files (a directory removes what is under it)
  quarry bench ann|ir [flags]       benchmarks against peers
  quarry serve [--addr A] [--api-key K]  serve the OpenAI-compatible API (default 127.0.0.1:8080)
  quarry mcp                        serve the store to an MCP client over stdio

Common flags:
  --store DIR          store location ($QUARRY_STORE, default ~/.local/share/quarry)
  --vector-store NAME  vector store inside it (default "default"; repeat on search)
  --embedder SPEC      local (default), openai:MODEL, azure:DEPLOYMENT, ollama:MODEL, ... ($QUARRY_EMBEDDER)
  --dimensions N       embedding dimensions ($QUARRY_DIMENSIONS)

Run 'quarry COMMAND -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "quarry:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"index":  cmdIndex,
		"search": cmdSearch,
		"ls":     cmdLs,
		"rm":     cmdRm,
		"bench":  cmdBench,
		"serve":  cmdServe,
		"mcp":    cmdMCP, // mcp.go
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

// parseInterspersed parses flags wherever they stand among the arguments
// and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
