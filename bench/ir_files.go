package bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// CheckBEIR reports, in one error, what a folder lacks to be read by
// LoadBEIR: corpus.jsonl, queries.jsonl, and qrels.tsv or qrels/test.tsv.
func CheckBEIR(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("bench: BEIR dataset %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("bench: BEIR dataset %s: not a folder", dir)
	}
	var missing []string
	for _, name := range []string{"corpus.jsonl", "queries.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, name)); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, name)
		}
	}
	_, e1 := os.Stat(filepath.Join(dir, "qrels.tsv"))
	_, e2 := os.Stat(filepath.Join(dir, "qrels", "test.tsv"))
	if e1 != nil && e2 != nil {
		missing = append(missing, "qrels.tsv (or qrels/test.tsv)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("bench: %s is not a BEIR dataset: missing %v (BEIR layout: corpus.jsonl, queries.jsonl, qrels/test.tsv)", dir, missing)
	}
	return nil
}

// RunIRFromFiles measures indexing as the Lucene driver does, like for
// like: from the collection's files on disk (corpus.jsonl read and its JSON
// parsed) to an index committed to disk in workDir. IndexSeconds covers
// both; the queries then run as in RunIR, on the index reopened from disk.
func RunIRFromFiles(ctx context.Context, dir, workDir string, cfg IRConfig) (*IRResult, error) {
	if err := CheckBEIR(dir); err != nil {
		return nil, err
	}
	start := time.Now()
	c, err := LoadBEIR(dir)
	if err != nil {
		return nil, err
	}
	load := time.Since(start).Seconds()
	cfg.Dir = filepath.Join(workDir, "quarry-idx")
	if err := os.RemoveAll(cfg.Dir); err != nil {
		return nil, err
	}
	r, err := RunIR(ctx, c, cfg)
	if err != nil {
		return nil, err
	}
	r.IndexSeconds += load
	return r, nil
}
