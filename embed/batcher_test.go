package embed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder embeds each text as a one-component vector holding its length
// and records the size of every call; it fails calls holding "bad".
type recorder struct {
	mu    sync.Mutex
	sizes []int
	gate  chan struct{} // when non-nil, every call waits for it to close
}

func (r *recorder) Identity() Identity {
	return Identity{Provider: "test", Model: "len", Dimensions: 1}
}

func (r *recorder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	r.sizes = append(r.sizes, len(texts))
	r.mu.Unlock()
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if strings.Contains(t, "bad") {
			return nil, errors.New("bad input")
		}
		out[i] = []float32{float32(len(t))}
	}
	return out, nil
}

func (r *recorder) calls() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sizes)
}

func checkLens(t *testing.T, texts []string, vecs [][]float32) {
	t.Helper()
	if len(vecs) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(vecs), len(texts))
	}
	for i, v := range vecs {
		if int(v[0]) != len(texts[i]) {
			t.Fatalf("vector %d is %v, want %d", i, v, len(texts[i]))
		}
	}
}

// Many concurrent single-text callers share requests: no more than one per
// MaxInputs texts plus one per linger window, and each caller gets its own
// vectors back in order.
func TestBatcherMergesCallers(t *testing.T) {
	rec := &recorder{gate: make(chan struct{})}
	b := NewBatcher(rec, BatcherOptions{MaxInputs: 100, Linger: 5 * time.Millisecond, Concurrency: 2})
	const callers = 1000
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			texts := []string{strings.Repeat("x", i%17+1), strings.Repeat("y", i%5+1)}
			vecs, err := b.Embed(context.Background(), texts)
			if err == nil && (int(vecs[0][0]) != len(texts[0]) || int(vecs[1][0]) != len(texts[1])) {
				err = fmt.Errorf("caller %d got %v for %q", i, vecs, texts)
			}
			errs <- err
		}()
	}
	// The two slots are held by the gate; the rest fill batches meanwhile.
	for b.Stats().Pending < 2*callers-200 {
		time.Sleep(time.Millisecond)
	}
	close(rec.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st := b.Stats()
	sizes := rec.calls()
	total := 0
	for _, n := range sizes {
		total += n
		if n > 100 {
			t.Fatalf("a batch of %d texts, MaxInputs is 100", n)
		}
	}
	if total != 2*callers || st.Inputs != 2*callers {
		t.Fatalf("embedded %d texts (stats %d), want %d", total, st.Inputs, 2*callers)
	}
	bound := int64((2*callers+99)/100) + st.Lingered
	if int64(len(sizes)) != st.Batches || st.Batches > bound {
		t.Fatalf("%d requests (stats %d, %d lingered), bound %d", len(sizes), st.Batches, st.Lingered, bound)
	}
	if len(sizes) > 25 {
		t.Fatalf("%d requests for %d callers: batches were not merged (%v)", len(sizes), callers, sizes)
	}
}

// A call larger than a batch is split and reassembled in order; a lone
// small call goes out after the linger.
func TestBatcherSplitsAndLingers(t *testing.T) {
	rec := &recorder{}
	b := NewBatcher(rec, BatcherOptions{MaxInputs: 64, MaxTokens: 1000, Linger: 5 * time.Millisecond})
	texts := make([]string, 1000)
	for i := range texts {
		texts[i] = strings.Repeat("z", i%50+1)
	}
	vecs, err := b.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	checkLens(t, texts, vecs)
	for _, n := range rec.calls() {
		if n > 64 {
			t.Fatalf("batch of %d", n)
		}
	}
	// Token limit: 10 texts of 300 tokens, at most 3 per batch.
	rec2 := &recorder{}
	b2 := NewBatcher(rec2, BatcherOptions{MaxTokens: 1000, Linger: time.Millisecond})
	long := make([]string, 10)
	toks := make([]int, 10)
	for i := range long {
		long[i], toks[i] = strings.Repeat("w", i+1), 300
	}
	vecs, err = b2.EmbedCounted(context.Background(), long, toks)
	if err != nil {
		t.Fatal(err)
	}
	checkLens(t, long, vecs)
	for _, n := range rec2.calls() {
		if n > 3 {
			t.Fatalf("batch of %d texts of 300 tokens, MaxTokens 1000", n)
		}
	}
	start := time.Now()
	if _, err := b2.Embed(context.Background(), []string{"one"}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a lone call took %v", d)
	}
}

// A failing input fails its own call only.
func TestBatcherIsolatesFailures(t *testing.T) {
	rec := &recorder{gate: make(chan struct{})}
	b := NewBatcher(rec, BatcherOptions{Concurrency: 1, Linger: time.Millisecond})
	var wg sync.WaitGroup
	res := make([]error, 20)
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text := fmt.Sprintf("good %d", i)
			if i == 7 {
				text = "bad"
			}
			_, res[i] = b.Embed(context.Background(), []string{text})
		}()
	}
	for st := b.Stats(); st.Pending+st.Inputs < 20; st = b.Stats() {
		time.Sleep(time.Millisecond)
	}
	close(rec.gate)
	wg.Wait()
	for i, err := range res {
		if (err != nil) != (i == 7) {
			t.Fatalf("call %d: err %v", i, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Embed(ctx, []string{"late"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
}
