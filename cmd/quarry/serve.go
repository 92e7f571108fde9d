package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/quarrylabs/quarry/server"
)

func init() {
	register(&command{
		name:    "serve",
		args:    "[flags]",
		summary: "serve the OpenAI-compatible vector-store API over the store",
		long: `Serves /v1/vector_stores, /v1/files, file batches and search, as OpenAI's API
does; OpenAI SDKs work with their base URL pointed here. With --llm-base-url,
POST /v1/responses runs the file_search tool with that chat model; /mcp serves
MCP over streamable HTTP; /metrics answers in Prometheus' format. On SIGTERM or SIGINT
it stops accepting connections, lets in-flight requests finish (up to
--shutdown-timeout), closes the store and exits 0; a second signal exits at
once.`,
		examples: []string{
			"quarry serve",
			"quarry serve --addr 0.0.0.0:8080 --api-key $(cat key.txt)",
			"curl -s localhost:8080/v1/vector_stores",
			"quarry serve --llm-base-url http://localhost:11434/v1 --llm-model qwen2.5:7b",
		},
		setup: setupServe,
	})
}

func setupServe(fs *flagSet) runFunc {
	var sf storeFlags
	sf.register(fs, false)
	sf.registerEmbedder(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `ADDRESS`")
	apiKey := fs.String("api-key", os.Getenv("QUARRY_API_KEY"), "require 'Authorization: Bearer `KEY`' (default $QUARRY_API_KEY; empty: no auth)")
	maxUpload := fs.Int64("max-upload-bytes", 0, "largest upload in `BYTES` (default 512 MB)")
	grace := fs.Duration("shutdown-timeout", 30*time.Second, "how long in-flight requests may run after a signal")
	pprof := fs.Bool("pprof", false, "serve Go's profiler under /debug/pprof/ (behind the API key)")
	insecure := fs.Bool("insecure-no-auth", false, "without --api-key on a non-loopback address, answer other machines too (default: only this one)")
	var hosts stringList
	fs.Var(&hosts, "allow-host", "without --api-key, also serve requests whose Host is `NAME` (repeatable; loopback names always)")
	// POST /v1/responses: the upstream chat model (see server.LLM).
	llm := server.LLM{}
	fs.StringVar(&llm.BaseURL, "llm-base-url", os.Getenv("QUARRY_LLM_BASE_URL"), "OpenAI-compatible chat-completions `URL` for /v1/responses, e.g. http://localhost:11434/v1 ($QUARRY_LLM_BASE_URL)")
	fs.StringVar(&llm.Model, "llm-model", os.Getenv("QUARRY_LLM_MODEL"), "upstream `MODEL` for /v1/responses; empty: the request's model ($QUARRY_LLM_MODEL)")
	fs.StringVar(&llm.APIKey, "llm-api-key", os.Getenv("QUARRY_LLM_API_KEY"), "upstream API `KEY` ($QUARRY_LLM_API_KEY)")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) > 0 {
			return usagef(lookup(commands, "serve"), "serve takes no arguments")
		}
		// Without a key on a non-loopback address, only this machine's
		// requests are answered unless --insecure-no-auth says otherwise.
		localOnly := false
		if *apiKey == "" && !loopbackAddr(*addr) {
			if *insecure {
				fmt.Fprintf(e.stderr, "quarry: warning: serving %s to the network with no API key (--insecure-no-auth): anyone who reaches it can read and change every document\n", *addr)
			} else {
				localOnly = true
				fmt.Fprintf(e.stderr, "quarry: warning: listening on %s with no API key: requests from other machines are refused (403); set --api-key (or $QUARRY_API_KEY) to serve them, or --insecure-no-auth to serve them unauthenticated\n", *addr)
			}
		}
		logger := slog.New(slog.NewTextHandler(e.stderr, nil))
		db, err := sf.open(ctx, logger, true)
		if err != nil {
			return err
		}
		srv := &http.Server{
			Handler:           server.New(db, server.Options{APIKey: *apiKey, MaxUploadBytes: *maxUpload, Logger: logger, LLM: &llm, Pprof: *pprof, AllowedHosts: hosts, LocalPeersOnly: localOnly}),
			ReadHeaderTimeout: 10 * time.Second,
			// Uploads of large files take long: no overall read or write
			// timeout, but idle connections are closed.
			IdleTimeout:    2 * time.Minute,
			MaxHeaderBytes: 1 << 20,
			// Requests outlive the signal: Shutdown drains them.
			BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
			ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			db.Close()
			return err
		}
		auth := "no API key"
		if *apiKey != "" {
			auth = "API key required"
		}
		fmt.Fprintf(e.stdout, "quarry: serving %s on http://%s/v1 (%s)\n", db.Dir(), ln.Addr(), auth)

		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case err := <-errc:
			db.Close()
			return err
		case <-ctx.Done():
		}
		logger.Info("shutting down: draining requests", "cause", context.Cause(ctx), "timeout", *grace)
		shutdown, cancel := context.WithTimeout(context.Background(), *grace)
		defer cancel()
		err = srv.Shutdown(shutdown)
		if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			logger.Info("stopped: store closed")
		}
		// A clean stop on request is a success (exit 0), as systemd and
		// container runtimes expect.
		return err
	}
}

// loopbackAddr reports whether a listen address names only the loopback
// interface (127.0.0.0/8, ::1, localhost). An empty host (":8080") listens
// on every interface.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
