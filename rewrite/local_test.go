package rewrite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestLocalFiller(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"can you tell me about hybrid search?", []string{"hybrid search"}},
		{"Can you tell me about the history of Rome", []string{"the history of Rome"}},
		{"I'd like to know how HNSW works", []string{"how HNSW works"}},
		{"I’d like to know more about vector quantization.", []string{"vector quantization"}},
		{"what do you know about BM25?", []string{"BM25"}},
		{"What do you know about the on-call policy?", []string{"the on-call policy"}},
		{"please explain reciprocal rank fusion", []string{"reciprocal rank fusion"}},
		{"Please explain how the tokenizer splits text, thanks!", []string{"how the tokenizer splits text"}},
		{"what is known about the Treaty of Westphalia?", []string{"the Treaty of Westphalia"}},
		{"Hi! Could you please give me some information about expense reports? Thank you", []string{"expense reports"}},
		{"Hey there, I'm looking for the vacation policy please", []string{"the vacation policy"}},
		{"tell me everything about gRPC deadlines", []string{"gRPC deadlines"}},
		{"Do you have any information on parental leave?", []string{"parental leave"}},
		{"i want to learn about transformers, thx", []string{"transformers"}},
		{"summarize the Q3 board minutes for me", []string{"the Q3 board minutes"}},
		// Nothing to strip.
		{"what is a vector store", []string{"what is a vector store"}},
		{"  BM25   saturation  ", []string{"BM25 saturation"}},
		{"on-call rotation", []string{"on-call rotation"}},
		{"about face", []string{"about face"}},
		{"more efficient HNSW builds", []string{"more efficient HNSW builds"}},
		{"information retrieval evaluation", []string{"information retrieval evaluation"}},
		{"tell me about information retrieval", []string{"information retrieval"}},
		// Only filler: keep what was typed.
		{"thanks!", []string{"thanks!"}},
		{"please explain", []string{"please explain"}},
	}
	l := NewLocal(nil)
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := l.Rewrite(context.Background(), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Fatalf("Rewrite(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLocalSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"What is HNSW? How does BM25 work?", []string{"What is HNSW How does BM25 work", "What is HNSW", "How does BM25 work"}},
		{"can you tell me about HNSW and also about BM25", []string{"HNSW BM25", "HNSW", "BM25"}},
		{"parental leave; sick leave; vacation", []string{"parental leave sick leave vacation", "parental leave", "sick leave", "vacation"}},
		{"Explain HNSW and how it compares to IVF", []string{"HNSW how it compares to IVF", "HNSW", "how it compares to IVF"}},
		{"cats and dogs", []string{"cats and dogs"}},
		{"What is the refund policy. Also, who approves refunds?", []string{"What is the refund policy who approves refunds", "What is the refund policy", "who approves refunds"}},
		{"see e.g. Smith et al. Results vary", []string{"see e.g. Smith et al. Results vary"}},
		{"b? c? d? e? f? g? h?", []string{"b c d e f g h", "b", "c", "d", "e"}},
		{"HNSW? HNSW?", []string{"HNSW HNSW", "HNSW"}},
		// Interjections between sentences are dropped, not split off.
		{"Hello there! What is HNSW? Regards.", []string{"What is HNSW"}},
		{"Good evening. How are embeddings cached? Cheers!", []string{"How are embeddings cached"}},
		{"Hi! Thanks!", []string{"Hi! Thanks!"}},
	}
	l := NewLocal(nil)
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := l.Rewrite(context.Background(), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Fatalf("Rewrite(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLocalSpelling(t *testing.T) {
	vocab := MapVocabulary{
		"retrieval": 40, "retrieve": 12, "search": 90, "hybrid": 7, "vector": 50, "vectors": 20,
		"quantization": 5, "embedding": 30, "embeddings": 25, "policy": 10, "police": 3,
		"recieve": 1, "receive": 20, "fusion": 4, "index": 60, "indexes": 9, "run": 8, "hnsw": 3,
	}
	tests := []struct {
		in   string
		want []string
	}{
		{"hybird serach", []string{"hybrid search"}},                    // transpositions
		{"vectr quantizaton", []string{"vector quantization"}},          // deletions
		{"retreival of embedings", []string{"retrieval of embeddings"}}, // long word: distance 2
		{"polcy", []string{"policy"}},
		{"polixy", []string{"policy"}},                                // substitution: policy (10) beats police (3)? both distance 1 → frequency
		{"Fusion, vector search!", []string{"Fusion, vector search"}}, // known words untouched
		{"HNSW indx", []string{"HNSW index"}},                         // acronym untouched
		{"xyzzy plugh", []string{"xyzzy plugh"}},                      // nothing close
		{"running", []string{"running"}},                              // stem "run" is known
		{"recieve", []string{"recieve"}},                              // in the vocabulary: not corrected
		{"retreival? vectr?", []string{"retrieval vector", "retrieval", "vector"}},
		{"the cat", []string{"the cat"}}, // short words untouched
	}
	l := NewLocal(vocab)
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := l.Rewrite(context.Background(), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Fatalf("Rewrite(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLocalSpellingStemmedVocabulary(t *testing.T) {
	// Terms as a stemmed BM25 index stores them.
	vocab := MapVocabulary{"retriev": 40, "embed": 30, "polici": 10, "search": 90, "hybrid": 7, "network": 12}
	tests := []struct {
		in   string
		want []string
	}{
		{"retreival", []string{"retrieval"}},                 // stem retreiv ≈ retriev, suffix "al" back
		{"embeddings", []string{"embeddings"}},               // known through its stem
		{"policies networks", []string{"policies networks"}}, // known through stems
		{"hybird serach", []string{"hybrid search"}},
	}
	l := NewLocal(vocab)
	for _, tc := range tests {
		got, err := l.Rewrite(context.Background(), tc.in)
		if err != nil || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
			t.Errorf("Rewrite(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestLocalErrors(t *testing.T) {
	l := NewLocal(nil)
	if _, err := l.Rewrite(context.Background(), " \t "); !errors.Is(err, ErrEmptyQuery) {
		t.Fatalf("Rewrite(blank) = %v, want ErrEmptyQuery", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Rewrite(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Rewrite(cancelled) = %v", err)
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b  string
		limit int
		want  int
	}{
		{"kitten", "sitting", 5, 3},
		{"abc", "abc", 2, 0},
		{"abc", "acb", 2, 1},
		{"ca", "abc", 3, 3}, // OSA, not full Damerau
		{"", "abc", 5, 3},
		{"hybird", "hybrid", 1, 1},
		{"abcdef", "uvwxyz", 2, 3}, // cut off above limit
		{"naïve", "naive", 2, 1},
	}
	for _, tc := range tests {
		if got := distance([]rune(tc.a), []rune(tc.b), tc.limit); got != tc.want {
			t.Errorf("distance(%q, %q, %d) = %d, want %d", tc.a, tc.b, tc.limit, got, tc.want)
		}
		if isASCII(tc.a) && isASCII(tc.b) {
			if got := distanceASCII(tc.a, tc.b, tc.limit); got != tc.want {
				t.Errorf("distanceASCII(%q, %q, %d) = %d, want %d", tc.a, tc.b, tc.limit, got, tc.want)
			}
		}
	}
}

func FuzzDistance(f *testing.F) {
	f.Add("kitten", "sitting", 2)
	f.Fuzz(func(t *testing.T, a, b string, limit int) {
		if !isASCII(a) || !isASCII(b) || len(a) >= maxFastLen || len(b) >= maxFastLen {
			return
		}
		limit = abs(limit % 4)
		if x, y := distanceASCII(a, b, limit), distance([]rune(a), []rune(b), limit); min(x, limit+1) != min(y, limit+1) {
			t.Fatalf("distanceASCII(%q, %q, %d) = %d, distance = %d", a, b, limit, x, y)
		}
	})
}

func TestMapVocabulary(t *testing.T) {
	v := MapVocabulary{"b": 1, "ab": 2, "aa": 3, "abc": 4}
	if got := v.Terms("a", 0); fmt.Sprint(got) != "[aa ab abc]" {
		t.Fatalf("Terms(a, 0) = %v", got)
	}
	if got := v.Terms("a", 2); fmt.Sprint(got) != "[aa ab]" {
		t.Fatalf("Terms(a, 2) = %v", got)
	}
	if v.Frequency("abc") != 4 || v.Frequency("zz") != 0 {
		t.Fatal("Frequency")
	}
}

func FuzzLocal(f *testing.F) {
	f.Add("can you tell me about X? and also Y; thanks")
	f.Add("\xff? ? ;;; please")
	l := NewLocal(MapVocabulary{"vector": 3, "search": 2})
	f.Fuzz(func(t *testing.T, q string) {
		got, err := l.Rewrite(context.Background(), q)
		if strings.TrimSpace(q) == "" {
			if !errors.Is(err, ErrEmptyQuery) {
				t.Fatalf("Rewrite(%q) = %v, %v", q, got, err)
			}
			return
		}
		if err != nil || len(got) == 0 || len(got) > MaxQueries {
			t.Fatalf("Rewrite(%q) = %q, %v", q, got, err)
		}
		for _, s := range got {
			if strings.TrimSpace(s) == "" {
				t.Fatalf("Rewrite(%q) has an empty query: %q", q, got)
			}
		}
	})
}

// sortedVocab is a Vocabulary over sorted terms, like a term dictionary.
type sortedVocab struct {
	terms []string
	freq  map[string]uint64
}

func (v sortedVocab) Frequency(t string) uint64 { return v.freq[t] }

func (v sortedVocab) Terms(prefix string, limit int) []string {
	i, _ := slices.BinarySearch(v.terms, prefix)
	var out []string
	for ; i < len(v.terms) && strings.HasPrefix(v.terms[i], prefix) && (limit <= 0 || len(out) < limit); i++ {
		out = append(out, v.terms[i])
	}
	return out
}

// BenchmarkLocalRewrite measures filler stripping, splitting and spelling
// correction of a compound query with 4 misspellings against a 20,000-term
// dictionary (5,000 terms per first letter of the misspelled words).
func BenchmarkLocalRewrite(b *testing.B) {
	v := sortedVocab{freq: map[string]uint64{}}
	for _, first := range "hsvq" {
		for i := range 5000 {
			t := fmt.Sprintf("%c%04dx", first, i)
			v.freq[t] = uint64(i%17 + 1)
		}
	}
	for _, t := range []string{"hybrid", "search", "vector", "quantization"} {
		v.freq[t] = 9
	}
	for t := range v.freq {
		v.terms = append(v.terms, t)
	}
	slices.Sort(v.terms)
	l := NewLocal(v)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		got, err := l.Rewrite(ctx, "Can you tell me about hybird serach? And also how vectr quantizaton works, thanks")
		if err != nil || got[0] != "hybrid search how vector quantization works" {
			b.Fatalf("Rewrite = %q, %v", got, err)
		}
	}
}

// TestLocalSurfaceForms: corrections against a stemmed vocabulary come back
// as words, not stems.
func TestLocalSurfaceForms(t *testing.T) {
	vocab := MapVocabulary{"technolog": 5, "retriev": 7, "schedul": 4, "goroutin": 3, "steal": 2, "work": 9}
	l := NewLocal(vocab)
	for in, want := range map[string]string{
		"technolgy":                        "technology",
		"retreival":                        "retrieval",
		"gorutine schedular wrok stealing": "goroutine scheduler work stealing",
	} {
		out, err := l.Rewrite(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if out[0] != want {
			t.Errorf("Rewrite(%q) = %q, want %q", in, out[0], want)
		}
	}
}

// TestLocalFrames: request frames are cut by grammar (a pronoun opening the
// sub-question, then a topic preposition; a closing clause with a pronoun,
// modal or "if"), not by phrase lists.
func TestLocalFrames(t *testing.T) {
	l := NewLocal(nil)
	for in, want := range map[string]string{
		"I am hoping to locate material regarding heat transfer":   "heat transfer",
		"anything on boundary layers?":                             "boundary layers",
		"Point me to papers covering jet noise, if that's alright": "jet noise",
		"jet noise and would appreciate some pointers":             "jet noise",
		"what does it mean when you dream about snakes":            "what does it mean when you dream about snakes",
		"effect of pressure on wings":                              "effect of pressure on wings",
	} {
		out, err := l.Rewrite(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if out[0] != want {
			t.Errorf("Rewrite(%q) = %q, want %q", in, out[0], want)
		}
	}
}

// sizedVocab is a MapVocabulary that knows its collection's size.
type sizedVocab struct {
	MapVocabulary
	n uint64
}

func (v sizedVocab) Size() uint64 { return v.n }

// TestLocalCollection: the searched collection's statistics tell talk from
// topic, and words no chunk holds are left out.
func TestLocalCollection(t *testing.T) {
	v := sizedVocab{MapVocabulary{
		"heat": 40, "transfer": 30, "boundary": 25, "layer": 20, "turbul": 9, "flow": 60,
		"bm25": 3, "rank": 12, "what": 400, "is": 500, "welcom": 50, "recommend": 40,
		"start": 15, "where": 90, "do": 300, "i": 100, "capacit": 4, "amplifi": 6, "variabl": 7,
		"war": 5, "enter": 8, "the": 900, "why": 40, "did": 60, "us": 30, "can": 80,
	}, 1000}
	l := NewLocal(v)
	for in, want := range map[string][]string{
		// A short sentence asking something keeps its request (it was
		// dropped as an interjection).
		"Hi. Explain BM25.": {"BM25"},
		// A closing sentence that addresses the reader is dropped, even
		// when its words are in the collection.
		"Heat transfer in boundary layers. Where do I start?": {"Heat transfer in boundary layers"},
		// A short closing clause beside a longer topic, whose best word
		// tells less than the topic's.
		"turbulent heat transfer, recommendations welcome": {"turbulent heat transfer"},
		// Words no chunk holds are left out ("manager", "asked").
		"My manager asked me to look into heat transfer": {"heat transfer"},
		"heat transfer for my manager":                   {"heat transfer for my"},
		// An all-capitals query: capitals are not acronyms, typos are
		// corrected.
		"VARIABLE CAPACIITANCE AMPLIFIERS": {"VARIABLE capacitance AMPLIFIERS"},
		// "the us" is a country, not the reader.
		"why did the us enter the war - can someone help?": {"why did the us enter the war"},
	} {
		got, err := l.Rewrite(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Errorf("Rewrite(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSentenceEnd(t *testing.T) {
	for _, tc := range []struct {
		w, next string
		want    bool
	}{
		{"for.", "Where", true}, {"all.", "Looking", true}, {".", "Regards.", true},
		{"e.g.", "Smith", false}, {"al.", "Results", false}, {"Dr.", "Who", false},
		{"work.", "thanks", false},
	} {
		if got := sentenceEnd(tc.w, tc.next); got != tc.want {
			t.Errorf("sentenceEnd(%q, %q) = %v", tc.w, tc.next, got)
		}
	}
}
