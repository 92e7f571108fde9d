package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/quarrylabs/quarry/internal/shareddata"
)

// referenceTable reads the per-collection tables of the reference README:
// collection → config tag → [nDCG@10, R@100, MAP, MRR@10].
func referenceTable(t testing.TB, path string) map[string]map[string][4]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string][4]float64{}
	coll := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			coll = strings.Fields(line)[1]
			out[coll] = map[string][4]float64{}
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if coll == "" || len(cells) < 5 {
			continue
		}
		var v [4]float64
		ok := true
		for i := range v {
			x, err := strconv.ParseFloat(strings.TrimSpace(cells[i+1]), 64)
			if err != nil {
				ok = false
				break
			}
			v[i] = x
		}
		if ok {
			out[coll][strings.TrimSpace(cells[0])] = v
		}
	}
	if len(out) == 0 {
		t.Fatalf("no tables in %s", path)
	}
	return out
}

var irConfigs = []struct {
	tag   string
	k1, b float64
}{
	{"lucene-bm25-0.9-0.4", 0.9, 0.4},
	{"lucene-bm25-1.2-0.75", 1.2, 0.75},
}

// TestMetricsOnReferenceRuns scores the reference Lucene runs with Evaluate
// and compares with the README's (trec_eval) figures.
func TestMetricsOnReferenceRuns(t *testing.T) {
	ref := shareddata.Path(t, "datasets/ir/reference")
	table := referenceTable(t, filepath.Join(ref, "README.md"))
	for _, coll := range []string{"vaswani", "cranfield"} {
		qrels, err := ReadQrels(filepath.Join(ref, "..", coll, "qrels.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range irConfigs {
			t.Run(coll+"/"+c.tag, func(t *testing.T) {
				run, err := ReadRun(filepath.Join(ref, coll, c.tag+".run.gz"))
				if err != nil {
					t.Fatal(err)
				}
				m := Evaluate(qrels, run)
				got := [4]float64{m.NDCG10, m.Recall100, m.MAP, m.MRR10}
				want := table[coll][c.tag]
				for i := range got {
					if math.Abs(got[i]-want[i]) > 0.00005+1e-9 {
						t.Errorf("Evaluate metric %d = %.5f, want %.4f (README)", i, got[i], want[i])
					}
				}
			})
		}
	}
}

// TestIR runs lexical on the reference collections and fails when nDCG@10
// falls more than 0.005 below Lucene's at the same k1 and b.
func TestIR(t *testing.T) {
	if raceEnabled {
		t.Skip("quality gate: slow under -race; .ci/run runs it without")
	}
	ref := shareddata.Path(t, "datasets/ir/reference")
	table := referenceTable(t, filepath.Join(ref, "README.md"))
	for _, coll := range []string{"vaswani", "cranfield", "msmarco-5k"} {
		c, err := LoadBEIR(filepath.Join(ref, "..", coll))
		if err != nil {
			t.Fatal(err)
		}
		for _, cfg := range irConfigs {
			t.Run(coll+"/"+cfg.tag, func(t *testing.T) {
				res, err := RunIR(context.Background(), c, IRConfig{K1: cfg.k1, B: cfg.b, Passes: 1})
				if err != nil {
					t.Fatal(err)
				}
				m, want := res.Metrics, table[coll][cfg.tag]
				t.Logf("%s k1=%v b=%v: nDCG@10 %.4f (lucene %.4f) R@100 %.4f (%.4f) MAP %.4f (%.4f) MRR@10 %.4f (%.4f); %d docs indexed in %.2fs, %.0f queries/s",
					coll, cfg.k1, cfg.b, m.NDCG10, want[0], m.Recall100, want[1], m.MAP, want[2], m.MRR10, want[3],
					res.Docs, res.IndexSeconds, res.QueriesPerSecond())
				if m.NDCG10 < want[0]-0.005 {
					t.Errorf("nDCG@10 = %.4f, want >= %.4f (Lucene %.4f - 0.005)", m.NDCG10, want[0]-0.005, want[0])
				}
			})
		}
	}
}

// TestEvaluateAgreesWithIreval writes a run of lexical's and scores it with
// both Evaluate and the shared trec_eval-compatible ireval.py.
func TestEvaluateAgreesWithIreval(t *testing.T) {
	coll := shareddata.Path(t, "datasets/ir/cranfield")
	script := shareddata.Path(t, "tools/ireval.py")
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	c, err := LoadBEIR(coll)
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunIR(context.Background(), c, IRConfig{Passes: 1})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "quarry.run")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteRun(f, res.Run, "quarry"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/python3", script, filepath.Join(coll, "qrels.tsv"), path, "--json").Output()
	if err != nil {
		t.Fatalf("ireval.py: %v", err)
	}
	var py map[string]any
	if err := json.Unmarshal(out, &py); err != nil {
		t.Fatalf("ireval.py output %q: %v", out, err)
	}
	// Evaluate the run as read back from the file, as ireval does.
	run, err := ReadRun(path)
	if err != nil {
		t.Fatal(err)
	}
	m := Evaluate(c.Qrels, run)
	t.Logf("Evaluate %+v; ireval %s", m, out)
	for name, got := range map[string]float64{"ndcg_cut_10": m.NDCG10, "recall_100": m.Recall100, "map": m.MAP, "recip_rank_10": m.MRR10} {
		want, ok := lookupFloat(py, name)
		if !ok {
			t.Fatalf("ireval output has no %s: %s", name, out)
		}
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %.10f, ireval %.10f", name, got, want)
		}
	}
}

// lookupFloat finds key in a JSON object, one level of nesting deep.
func lookupFloat(m map[string]any, key string) (float64, bool) {
	if v, ok := m[key].(float64); ok {
		return v, true
	}
	for _, v := range m {
		if sub, ok := v.(map[string]any); ok {
			if x, ok := sub[key].(float64); ok {
				return x, true
			}
		}
	}
	return 0, false
}
