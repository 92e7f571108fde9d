package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/quarrylabs/quarry/server"
)

// cmdServe serves the OpenAI-compatible API over the store until ctx ends.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `ADDRESS`")
	apiKey := fs.String("api-key", os.Getenv("QUARRY_API_KEY"), "require 'Authorization: Bearer `KEY`' (default $QUARRY_API_KEY; empty: no auth)")
	maxUpload := fs.Int64("max-upload-bytes", 0, "largest upload in `BYTES` (0: 512 MB)")
	// POST /v1/responses: the upstream chat model (see server.LLM).
	llm := server.LLM{}
	fs.StringVar(&llm.BaseURL, "llm-base-url", os.Getenv("QUARRY_LLM_BASE_URL"), "OpenAI-compatible chat-completions `URL` for /v1/responses, e.g. http://localhost:11434/v1 ($QUARRY_LLM_BASE_URL)")
	fs.StringVar(&llm.Model, "llm-model", os.Getenv("QUARRY_LLM_MODEL"), "upstream `MODEL` for /v1/responses; empty: the request's model ($QUARRY_LLM_MODEL)")
	fs.StringVar(&llm.APIKey, "llm-api-key", os.Getenv("QUARRY_LLM_API_KEY"), "upstream API `KEY` ($QUARRY_LLM_API_KEY)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	db, err := sf.open(ctx, logger)
	if err != nil {
		return err
	}
	defer db.Close()

	srv := &http.Server{
		Handler:           server.New(db, server.Options{APIKey: *apiKey, MaxUploadBytes: *maxUpload, Logger: logger, LLM: &llm}),
		ReadHeaderTimeout: 10 * time.Second,
		// Uploads of large files take long: no overall read or write
		// timeout, but idle connections are closed.
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 1 << 20,
		BaseContext:    func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	auth := "no API key"
	if *apiKey != "" {
		auth = "API key required"
	}
	fmt.Fprintf(stdout, "quarry: serving %s on http://%s/v1 (%s)\n", db.Dir(), ln.Addr(), auth)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
