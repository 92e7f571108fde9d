package chunk

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// The reference implementation for differential tests: pkoukk/tiktoken-go,
// a port of OpenAI's tiktoken that matches it on its own test suite. It is
// slow (regexp2 and a quadratic merge), so only tests use it.
var refOnce sync.Once

func reference(t testing.TB, name string) *tiktoken.Tiktoken {
	t.Helper()
	if raceEnabled {
		// Loading tiktoken-go's tables takes ~10 s per encoding under the
		// race detector; the differential tests run in the plain test run.
		t.Skip("tiktoken-go reference skipped under the race detector")
	}
	refOnce.Do(func() { tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader()) })
	enc, err := tiktoken.GetEncoding(name)
	if err != nil {
		t.Fatalf("tiktoken.GetEncoding(%s): %v", name, err)
	}
	return enc
}

// refEnds returns the token end offsets tiktoken-go gives for s (valid UTF-8).
func refEnds(ref *tiktoken.Tiktoken, s string) []int32 {
	var ends []int32
	off := 0
	for _, tok := range ref.EncodeOrdinary(s) {
		off += len(ref.Decode([]int{tok}))
		ends = append(ends, int32(off))
	}
	return ends
}

var tokenizerCases = []string{
	"hello world",
	"tiktoken is great!",
	"I'm sure they'll say it's what we've done; HE'S RIGHT, WE'RE 'd 'll 'LL",
	"  leading and trailing spaces  ",
	"tabs\tand\nnewlines\r\n\r\n\n\n  \n  indented\n",
	"numbers 1 12 123 1234 12345 3.14159 1,000,000 ½ Ⅻ ١٢٣٤",
	"punctuation!!! ... ?!? (parens) [brackets] {braces} <angle> \"quotes\" 'single'",
	"func main() {\n\tfmt.Println(\"hi\")\n\treturn x+1 // comment\n}\n",
	"Ünïcödé àccents café naïve résumé CAFÉ Straße ǅungla ǈ",
	"中文字符测试，这是一个句子。日本語のテキスト、カタカナ。한국어 텍스트입니다.",
	"emoji 😀👍🏽 family 👨‍👩‍👧 flags 🇺🇸🇯🇵",
	"combining marks: e\u0301 a\u0308 \u0301start ́x  ́",
	"devanagari हिन्दी भाषा and thai ภาษาไทย and arabic العربية",
	"mixedCASEWords HTTPServer getHTTPResponseCode XMLHttpRequest iPhone McDonald's",
	"https://example.com/path/to/file?query=1&x=2#frag //comment /usr/bin/env",
	"a\u00a0b\u2003c\u3000d\u2028e\u0085f\u000bg\u000ch",
	"ſtop K kelvin 'ſ 'K 'İ İstanbul",
	"trailing newline then spaces\n   ",
	"   \n",
	"x  \n\ny",
	"!!!\n\n\n/// \r\n",
	"'",
	"''s's'S'sS",
	"\u0300\u0301",
	"aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQgZW5jb2RlZCB0ZXh0Lg==",
}

// randomText builds text from characters that exercise every branch of the
// pre-tokenizers.
func randomText(r *rand.Rand, n int) string {
	alphabet := []string{"a", "b", "Z", "Q", "é", "É", "ǅ", "ʰ", "中", "文", "あ", "\u0301", "\u0903",
		"1", "2", "٣", "½", " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u3000",
		"'", "'s", "'LL", "'re", ".", ",", "!", "/", "//", "-", "_", "(", ")", "😀", "\u200d", "$", "“"}
	var sb strings.Builder
	for range n {
		sb.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return sb.String()
}

func TestTokenizerMatchesTiktokenGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := append([]string(nil), tokenizerCases...)
	// Pieces longer than smallPiece take the heap merge.
	cases = append(cases, strings.Repeat("abcdefghij", 30), strings.Repeat("x", 500),
		strings.Repeat("中文字符", 40), strings.Repeat("🙂", 50), "Supercalifragilisticexpialidocious"+strings.Repeat("ing", 40))
	for i := range 300 {
		cases = append(cases, randomText(r, 1+i%40))
	}
	for _, name := range []string{CL100K, O200K} {
		t.Run(name, func(t *testing.T) {
			enc, err := loadEncoder(name)
			if err != nil {
				t.Fatal(err)
			}
			ref := reference(t, name)
			for _, s := range cases {
				got, _ := enc.tokenize(s)
				want := refEnds(ref, s)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("tokenize(%q) ends = %v, want %v", s, got, want)
				}
				if n := enc.count(s); n != len(want) {
					t.Errorf("count(%q) = %d, want %d", s, n, len(want))
				}
			}
		})
	}
}

// TestMergeHeapMatchesSmall checks that the O(n log n) merge performs the
// same merges as tiktoken's quadratic loop.
func TestMergeHeapMatchesSmall(t *testing.T) {
	enc, err := loadEncoder(CL100K)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{strings.Repeat("a", 64), strings.Repeat("中", 21), strings.Repeat("ab", 32)}
	for range 500 {
		n := 3 + r.IntN(62)
		b := make([]byte, n)
		for i := range b {
			const alpha = "aabbcdeeiosnt  \x00\xe4\xb8\xad"
			b[i] = alpha[r.IntN(len(alpha))]
		}
		pieces = append(pieces, string(b))
	}
	for _, p := range pieces {
		var small, heap []int32
		ns := enc.mergeSmall(p, &small, 0)
		nh := enc.mergeHeap(p, &heap, 0)
		if ns != nh || fmt.Sprint(small) != fmt.Sprint(heap) {
			t.Errorf("mergeHeap(%q) = %d %v, mergeSmall = %d %v", p, nh, heap, ns, small)
		}
	}
}
