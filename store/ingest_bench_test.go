package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// BenchmarkIngestSmallFiles measures adding small text files (eight adders
// at once) and waiting until they are all completed; files/s is the unit.
func BenchmarkIngestSmallFiles(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	// Eight adders at once, as quarry index does.
	var g errgroup.Group
	g.SetLimit(8)
	for i := range b.N {
		g.Go(func() error {
			body := fmt.Sprintf("note %d about subject%d %s", i, i, strings.Repeat("filler words ", 30))
			_, err := vs.AddFile(ctx, FileInput{Name: fmt.Sprintf("f%d.txt", i), Body: strings.NewReader(body)})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds()*1e3/float64(b.N), "add-ms/file")
	for {
		info, _ := vs.Info(ctx)
		if info.FileCounts.InProgress == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "files/s")
}
