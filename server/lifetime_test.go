package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/store"
)

// TestDeleteVectorStoreUnderSearches deletes vector stores while 16
// clients search them: every answer is 200 (before the delete) or 404
// (after), never a 5xx, and the server keeps serving.
func TestDeleteVectorStoreUnderSearches(t *testing.T) {
	ts := newTestServer(t, Options{})
	ctx := context.Background()
	for round := range 5 {
		vsID := ts.createVS(fmt.Sprintf("v%d", round))
		vs, err := ts.db.VectorStore(vsID)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			f, err := vs.AddFile(ctx, store.FileInput{Name: fmt.Sprintf("f%d.txt", i), Body: strings.NewReader(strings.Repeat(fmt.Sprintf("alpha bravo charlie %d ", i), 200))})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := vs.WaitFile(ctx, f.ID); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		codes := map[int]int{}
		var bad []string
		deleted := make(chan struct{})
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					resp, err := http.Post(ts.url+"/v1/vector_stores/"+vsID+"/search", "application/json", strings.NewReader(`{"query":"alpha bravo"}`))
					if err != nil {
						mu.Lock()
						bad = append(bad, err.Error())
						mu.Unlock()
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					mu.Lock()
					codes[resp.StatusCode]++
					if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
						bad = append(bad, fmt.Sprintf("%d %s", resp.StatusCode, body))
					}
					mu.Unlock()
					select {
					case <-deleted:
						if resp.StatusCode == http.StatusNotFound {
							return
						}
					default:
					}
					if i > 2000 {
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(50+round*40) * time.Millisecond)
		code, out := ts.do("DELETE", "/v1/vector_stores/"+vsID, nil)
		close(deleted)
		if code != http.StatusOK {
			t.Errorf("round %d: DELETE = %d %v", round, code, out)
		}
		wg.Wait()
		if len(bad) > 0 {
			t.Errorf("round %d: %d bad answers, first: %s", round, len(bad), bad[0])
		}
		if codes[http.StatusOK] == 0 || codes[http.StatusNotFound] == 0 {
			t.Errorf("round %d: answers %v, want both 200s and 404s", round, codes)
		}
		if code, _ := ts.do("GET", "/healthz", nil); code != http.StatusOK {
			t.Fatalf("round %d: healthz = %d", round, code)
		}
	}
}
