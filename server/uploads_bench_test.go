package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/store"
)

// BenchmarkUploadAttach uploads small files through the HTTP API and
// attaches each to one vector store (POST /v1/files, then POST
// /v1/vector_stores/{id}/files) from QUARRY_BENCH_CLIENTS concurrent
// clients (default 8), while the store ingests them in the background. One
// iteration is one upload+attach; set the count with -benchtime=Nx. It reports the p50 and p99 of an
// upload+attach over the first thousand ("p50-ms@1k", "p99-ms@1k") and the
// last thousand ("p50-ms@last1k", "p99-ms@last1k"), and logs them for each
// thousand ending at 1k, 10k and 100k: flat figures mean the cost of one
// upload+attach does not grow with the number of files.
//
//	go test ./server/ -run '^$' -bench UploadAttach -benchtime=10000x
func BenchmarkUploadAttach(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	hs := httptest.NewServer(New(db, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer hs.Close()
	vs, err := db.CreateVectorStore(ctx, store.VectorStoreParams{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	client := hs.Client()
	post := func(path, ct string, body io.Reader) map[string]any {
		resp, err := client.Post(hs.URL+path, ct, body)
		if err != nil {
			b.Error(err)
			runtime.Goexit()
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
			b.Errorf("POST %s = %d %v %v", path, resp.StatusCode, out, err)
			runtime.Goexit()
		}
		return out
	}
	clients := 8
	if s := os.Getenv("QUARRY_BENCH_CLIENTS"); s != "" {
		if clients, err = strconv.Atoi(s); err != nil || clients < 1 {
			b.Fatalf("QUARRY_BENCH_CLIENTS=%q", s)
		}
	}
	// lat[i] is the latency of the i-th upload+attach to finish.
	lat := make([]time.Duration, 0, b.N)
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var form bytes.Buffer
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				form.Reset()
				mw := multipart.NewWriter(&form)
				mw.WriteField("purpose", "assistants")
				fw, _ := mw.CreateFormFile("file", fmt.Sprintf("f%d.txt", i))
				fmt.Fprintf(fw, "file %d is about term%dx and %s", i, i, strings.Repeat("small words ", 20))
				mw.Close()
				start := time.Now()
				up := post("/v1/files", mw.FormDataContentType(), &form)
				post("/v1/vector_stores/"+vs.ID()+"/files", "application/json", strings.NewReader(fmt.Sprintf(`{"file_id": %q}`, up["id"])))
				d := time.Since(start)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	window := func(end int) (p50, p99 float64) {
		w := slices.Clone(lat[max(0, end-1000):end])
		slices.Sort(w)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
		return ms(w[len(w)/2]), ms(w[min(len(w)-1, len(w)*99/100)])
	}
	p50, p99 := window(min(1000, len(lat)))
	b.ReportMetric(p50, "p50-ms@1k")
	b.ReportMetric(p99, "p99-ms@1k")
	l50, l99 := window(len(lat))
	b.ReportMetric(l50, "p50-ms@last1k")
	b.ReportMetric(l99, "p99-ms@last1k")
	for _, end := range []int{1000, 10000, 100000} {
		if end <= len(lat) {
			p50, p99 := window(end)
			b.Logf("uploads+attaches %d..%d: p50 %.2f ms, p99 %.2f ms", end-min(end, 1000)+1, end, p50, p99)
		}
	}
}
