package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/store"
)

// storeFlags are the flags of the commands that open a store: --store and
// --vector-store always, --embedder and --dimensions for the commands that
// embed (index, search, serve).
type storeFlags struct {
	dir          string
	vectorStores stringList
	embedder     string
	dimensions   int
}

// register adds --store and --vector-store; repeatable says whether
// --vector-store may be given more than once (search).
func (sf *storeFlags) register(fs *flagSet, repeatable bool) {
	sf.registerDir(fs)
	help := `vector store ` + "`NAME`" + ` inside the store (default "default")`
	if repeatable {
		help += "; repeat to search several"
	}
	fs.Var(&sf.vectorStores, "vector-store", help)
}

// registerDir adds --store only, for the commands that take the whole
// store (backup).
func (sf *storeFlags) registerDir(fs *flagSet) {
	fs.StringVar(&sf.dir, "store", os.Getenv("QUARRY_STORE"), "store folder `DIR` (default $QUARRY_STORE, else ~/.local/share/quarry)")
	sf.embedder = envOr("QUARRY_EMBEDDER", "local")
	sf.dimensions, _ = strconv.Atoi(os.Getenv("QUARRY_DIMENSIONS"))
}

// registerEmbedder adds --embedder and --dimensions.
func (sf *storeFlags) registerEmbedder(fs *flagSet) {
	fs.StringVar(&sf.embedder, "embedder", sf.embedder, "embedder `SPEC`: local (offline GloVe-SIF), local:hash-v3, openai:MODEL, azure:DEPLOYMENT, ollama:MODEL, ... (default $QUARRY_EMBEDDER, else local)")
	fs.IntVar(&sf.dimensions, "dimensions", sf.dimensions, "embedding dimensions `N` (default $QUARRY_DIMENSIONS, else the model's)")
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

func (sf *storeFlags) storeDir() (string, error) {
	if sf.dir != "" {
		return sf.dir, nil
	}
	return defaultStoreDir()
}

// errNoStore is returned by commands that read when there is no store yet.
var errNoStore = errors.New("no store")

// open opens the store, logging to logger (see cliLogger). Unless create is
// set, a folder without a store is an error, and nothing is created.
func (sf *storeFlags) open(ctx context.Context, logger *slog.Logger, create bool) (*store.DB, error) {
	dir, err := sf.storeDir()
	if err != nil {
		return nil, err
	}
	if !create {
		if _, err := os.Stat(filepath.Join(dir, "quarry.db")); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s (run 'quarry index PATH' first, or pass --store DIR)", errNoStore, dir)
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

// vectorStoreNamed returns the vector store called name, creating it when
// create is set and it does not exist.
func vectorStoreNamed(ctx context.Context, db *store.DB, name string, create bool) (*store.VectorStore, error) {
	vs, err := db.VectorStoreByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) && create {
		return db.CreateVectorStore(ctx, store.VectorStoreParams{Name: name})
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no vector store named %q in %s (run 'quarry index PATH' first)", name, db.Dir())
	}
	return vs, err
}

// vectorStore returns the first named vector store (see vectorStoreNamed).
func (sf *storeFlags) vectorStore(ctx context.Context, db *store.DB, create bool) (*store.VectorStore, error) {
	return vectorStoreNamed(ctx, db, sf.names()[0], create)
}
