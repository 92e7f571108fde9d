package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/store"
)

// storeFlags are the flags every command that opens a store takes.
type storeFlags struct {
	dir          string
	vectorStores stringList
	embedder     string
	dimensions   int
}

func (sf *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&sf.dir, "store", os.Getenv("QUARRY_STORE"), "store `DIR` (default $QUARRY_STORE or ~/.local/share/quarry)")
	fs.Var(&sf.vectorStores, "vector-store", "vector store `NAME` (default \"default\")")
	fs.StringVar(&sf.embedder, "embedder", envOr("QUARRY_EMBEDDER", "local"), "embedder `SPEC`: local, openai:MODEL, azure:DEPLOYMENT, ollama:MODEL, ...")
	dims, _ := strconv.Atoi(os.Getenv("QUARRY_DIMENSIONS"))
	fs.IntVar(&sf.dimensions, "dimensions", dims, "embedding dimensions (0: the model's default)")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// defaultStoreDir is where the store lives when neither --store nor
// $QUARRY_STORE says: $XDG_DATA_HOME/quarry, else ~/.local/share/quarry.
func defaultStoreDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "quarry"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no --store given and no home directory: %w", err)
	}
	return filepath.Join(home, ".local", "share", "quarry"), nil
}

// open opens the store, logging to logger (see cliLogger).
func (sf *storeFlags) open(ctx context.Context, logger *slog.Logger) (*store.DB, error) {
	dir := sf.dir
	if dir == "" {
		var err error
		if dir, err = defaultStoreDir(); err != nil {
			return nil, err
		}
	}
	emb, err := embed.FromSpec(sf.embedder, sf.dimensions, os.Getenv)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, dir, store.Options{Embedder: emb, Logger: logger})
}

// cliLogger logs warnings and errors to stderr: the commands report failed
// files themselves, one line each.
func cliLogger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func (sf *storeFlags) names() []string {
	if len(sf.vectorStores) == 0 {
		return []string{"default"}
	}
	return sf.vectorStores
}

// vectorStore returns the first named vector store, creating it when create
// is set and it does not exist.
func (sf *storeFlags) vectorStore(ctx context.Context, db *store.DB, create bool) (*store.VectorStore, error) {
	name := sf.names()[0]
	vs, err := db.VectorStoreByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) && create {
		return db.CreateVectorStore(ctx, store.VectorStoreParams{Name: name})
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no vector store named %q in %s (run 'quarry index DIR' first)", name, db.Dir())
	}
	return vs, err
}
