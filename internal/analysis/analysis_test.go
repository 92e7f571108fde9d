package analysis

import (
	"slices"
	"testing"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Crème Brûlée": "creme brulee",
		"café":         "cafe",
		"cafe\u0301":   "cafe",
		"ＡＢＣ１２":        "abc12",
		"Łódź":         "lodz",
		"plain":        "plain",
		"Ελληνικά":     "ελληνικά",
		"naïve Søren":  "naive soren",
		"ẞtraße":       "ßtraße",
		"東京":           "東京",
		"":             "",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTermsFoldAndCJK(t *testing.T) {
	if a, b := Terms("creme brulee"), Terms("Crème Brûlée"); !slices.Equal(a, b) {
		t.Errorf("Terms differ: %q vs %q", a, b)
	}
	if got := Terms("東京都の天気"); !slices.Contains(got, "東京") || !slices.Contains(got, "京都") {
		t.Errorf("Terms(東京都の天気) = %q, want CJK bigrams", got)
	}
	if got := Terms("the running of the dogs"); !slices.Equal(got, []string{"run", "dog"}) {
		t.Errorf("Terms = %q", got)
	}
}

func TestScanner(t *testing.T) {
	for in, want := range map[string][]string{
		"Hello, Wörld 42": {"hello", "world", "42"},
		"東京都":             {"東京", "京都"},
		"東 京":             {"東", "京"},
		"abc東京def":        {"abc", "東京", "def"},
		"e\u0301te":       {"ete"},
		"":                nil,
		"¶ # --":          nil,
	} {
		if got := Tokens(in); !slices.Equal(got, want) {
			t.Errorf("Tokens(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScannerAgreesWithTermsOnCJK(t *testing.T) {
	text := "検索エンジンの品質を改善する"
	var sc []string
	for _, tok := range Tokens(text) {
		sc = append(sc, Stem(tok))
	}
	if got := Terms(text); !slices.Equal(got, sc) {
		t.Errorf("Terms %q, Scanner %q", got, sc)
	}
}

func TestStopWords(t *testing.T) {
	for _, w := range StopWords() {
		if !IsStopWord(w) {
			t.Errorf("IsStopWord(%q) = false", w)
		}
	}
	if IsStopWord("quarry") {
		t.Error("IsStopWord(quarry) = true")
	}
}

func TestTermsDropPunctuationWords(t *testing.T) {
	if got := Terms("tracheids are part of _____."); !slices.Equal(got, []string{"tracheid", "part"}) {
		t.Errorf("Terms = %q", got)
	}
	if got := Terms("snake_case x_1"); !slices.Equal(got, []string{"snake_cas", "x_1"}) {
		t.Errorf("Terms = %q", got)
	}
}
