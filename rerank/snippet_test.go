package rerank

import "testing"

func TestBestSentence(t *testing.T) {
	text := "Quarry is a retrieval engine. It stores files on local disk!\n\nThe scheduler uses work stealing between goroutines. Café crème is served hot."
	for _, tc := range []struct{ query, want string }{
		{"goroutine scheduling work-stealing", "The scheduler uses work stealing between goroutines."},
		{"creme", "Café crème is served hot."},
		{"where are files stored", "It stores files on local disk!"},
		{"zanzibarquux", "Quarry is a retrieval engine."},
	} {
		s, e := BestSentence(tc.query, text)
		if got := text[s:e]; got != tc.want {
			t.Errorf("BestSentence(%q) = %q, want %q", tc.query, got, tc.want)
		}
	}
	if s, e := BestSentence("x", ""); s != 0 || e != 0 {
		t.Errorf("empty text: %d, %d", s, e)
	}
	cjk := "今日は雨です。東京の天気は晴れです。"
	s, e := BestSentence("東京の天気", cjk)
	if got := cjk[s:e]; got != "東京の天気は晴れです。" {
		t.Errorf("CJK: %q", got)
	}
}
