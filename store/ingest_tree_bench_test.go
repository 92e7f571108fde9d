package store_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/chunk"
	"github.com/quarrylabs/quarry/folder"
	"github.com/quarrylabs/quarry/parse"
	"github.com/quarrylabs/quarry/store"
)

// BenchmarkIngestTree ingests the folder named by $QUARRY_INGEST_DIR (Go's
// source tree, say) as quarry index does, into a fresh store with the
// default options, and in the same run parses and chunks the same files
// without embedding or storing anything: the ceiling. It reports each
// one's MB/s of file bytes, their ratio, the store's bytes over the
// indexed (parsed) text and the process's peak RSS, which the ingest,
// run first, sets. Run it alone, once:
//
//	QUARRY_INGEST_DIR=/usr/local/go/src go test ./store -run '^$' -bench IngestTree -benchtime 1x
func BenchmarkIngestTree(b *testing.B) {
	root := os.Getenv("QUARRY_INGEST_DIR")
	if root == "" {
		b.Skip("set QUARRY_INGEST_DIR to a folder to ingest")
	}
	var ingestMBs float64
	b.Run("ingest", func(b *testing.B) {
		for range b.N {
			ingestMBs = ingestTree(b, root)
		}
	})
	b.Run("chunk-only", func(b *testing.B) {
		for range b.N {
			mbs := chunkTree(b, root)
			if ingestMBs > 0 {
				b.ReportMetric(ingestMBs/mbs, "ingest/ceiling")
			}
		}
	})
}

func ingestTree(b *testing.B, root string) float64 {
	ctx := context.Background()
	dir := b.TempDir()
	if path := os.Getenv("QUARRY_HEAP_PROFILE"); path != "" {
		stop := make(chan struct{})
		defer close(stop)
		go profilePeakHeap(path, stop)
	}
	start := time.Now()
	db, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	vs, err := db.CreateVectorStore(ctx, store.VectorStoreParams{Name: "tree"})
	if err != nil {
		b.Fatal(err)
	}
	rep, err := folder.Sync(ctx, vs, []string{root}, folder.Options{})
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	files, err := vs.AllFiles(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var fileBytes, textBytes int64
	for _, f := range files {
		if f.Status != store.StatusCompleted {
			continue
		}
		fileBytes += f.Bytes
		text, err := vs.FileContent(ctx, f.ID)
		if err != nil {
			b.Fatal(err)
		}
		textBytes += int64(len(text))
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	var disk int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				disk += info.Size()
			}
		}
		return nil
	})
	mbs := float64(fileBytes) / 1e6 / elapsed.Seconds()
	b.ReportMetric(mbs, "MB/s")
	b.ReportMetric(float64(rep.Chunks), "chunks")
	b.ReportMetric(float64(textBytes)/1e6, "text-MB")
	b.ReportMetric(float64(disk)/float64(textBytes), "disk/text")
	b.ReportMetric(float64(disk)/float64(max(rep.Chunks, 1)), "disk-B/chunk")
	b.ReportMetric(peakRSS()/1e6, "peak-RSS-MB")
	return mbs
}

// chunkTree parses and chunks every file below root that parses, with as
// many goroutines as CPUs and the store's default parse and chunk options,
// and returns MB/s of file bytes.
func chunkTree(b *testing.B, root string) float64 {
	ctx := context.Background()
	ck, err := chunk.New(chunk.CL100K)
	if err != nil {
		b.Fatal(err)
	}
	var paths []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") && p != root {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	popts := parse.Options{Memory: parse.NewBudget(store.DefaultParseMemory)}
	strategy := chunk.Strategy{}.Normalize()
	var next, fileBytes, chunks atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(paths) {
					return
				}
				f, err := os.Open(paths[i])
				if err != nil {
					continue
				}
				o := popts
				doc, err := parse.Parse(ctx, paths[i], f, &o)
				var size int64
				if info, serr := f.Stat(); serr == nil {
					size = info.Size()
				}
				f.Close()
				if err != nil {
					continue
				}
				cs, err := ck.Split(ctx, doc, strategy)
				if err != nil {
					continue
				}
				fileBytes.Add(size)
				chunks.Add(int64(len(cs)))
			}
		}()
	}
	wg.Wait()
	mbs := float64(fileBytes.Load()) / 1e6 / time.Since(start).Seconds()
	b.ReportMetric(mbs, "MB/s")
	b.ReportMetric(float64(chunks.Load()), "chunks")
	return mbs
}

// profilePeakHeap writes a heap profile to path each time the heap in use
// grows 10% past its previous peak, until stop closes.
func profilePeakHeap(path string, stop chan struct{}) {
	var peak uint64
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peak+peak/10 {
			peak = ms.HeapInuse
			if f, err := os.Create(path); err == nil {
				pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
	}
}

// peakRSS is the process's peak resident set (VmHWM), 0 where unknown.
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}
