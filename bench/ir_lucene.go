package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// LuceneJars returns the class path of Debian's liblucene8-java (core and
// analyzers-common), or an error when it is not installed.
func LuceneJars() (string, error) {
	var cp []string
	for _, pat := range []string{"lucene-core-8*.jar", "lucene-analyzers-common-8*.jar"} {
		m, _ := filepath.Glob(filepath.Join("/usr/share/java", pat))
		if len(m) == 0 {
			return "", fmt.Errorf("bench: /usr/share/java/%s not found (apt-get install liblucene8-java)", pat)
		}
		cp = append(cp, m[0])
	}
	return cp[0] + string(os.PathListSeparator) + cp[1], nil
}

// RunLucene runs the Lucene 8 BM25 reference driver (the IrRefLucene.java
// source at driver, compiled into workDir) over collectionDir at k1 and b,
// and evaluates its run against c's judgments. Its timings are the
// driver's own: indexing from opening the writer to commit (JSON parsing
// included), queries as the median of three warm passes.
func RunLucene(ctx context.Context, c *BEIR, collectionDir, driver, workDir string, k1, b float64) (*IRResult, error) {
	cp, err := LuceneJars()
	if err != nil {
		return nil, err
	}
	classes := filepath.Join(workDir, "classes")
	if err := os.MkdirAll(classes, 0o755); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, "javac", "-cp", cp, "-d", classes, driver).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bench: javac: %v: %s", err, out)
	}
	tag := "lucene-" + strconv.FormatFloat(k1, 'g', -1, 64) + "-" + strconv.FormatFloat(b, 'g', -1, 64)
	outDir := filepath.Join(workDir, "out")
	spec := strconv.FormatFloat(k1, 'g', -1, 64) + ":" + strconv.FormatFloat(b, 'g', -1, 64) + ":" + tag
	cmd := exec.CommandContext(ctx, "java", "-cp", classes+string(os.PathListSeparator)+cp,
		"IrRefLucene", collectionDir, filepath.Join(workDir, "idx"), outDir, spec)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bench: lucene driver: %v: %s", err, out)
	}
	tb, err := os.ReadFile(filepath.Join(outDir, tag+".timing.json"))
	if err != nil {
		return nil, err
	}
	var timing struct {
		Docs    int     `json:"docs"`
		Queries int     `json:"queries"`
		IndexS  float64 `json:"index_s"`
		QueryS  float64 `json:"query_s"`
	}
	if err := json.Unmarshal(tb, &timing); err != nil {
		return nil, fmt.Errorf("bench: lucene timing: %w", err)
	}
	run, err := ReadRun(filepath.Join(outDir, tag+".run"))
	if err != nil {
		return nil, err
	}
	return &IRResult{
		Collection: c.Name, Docs: timing.Docs, Queries: timing.Queries,
		Metrics: Evaluate(c.Qrels, run), IndexSeconds: timing.IndexS, QuerySeconds: timing.QueryS, Run: run,
	}, nil
}
