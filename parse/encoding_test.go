package parse

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

// Sample texts in several scripts, each a few sentences of ordinary prose.
const (
	sampleLatin = "Le café de la gare ouvre à sept heures. Déjà, les élèves attendent leur thé; " +
		"naïve façade, «crème brûlée» et “quotes” — coût: 5 €.\n"
	sampleHans = "我们的目标是建设一个开放的知识库。这个系统可以帮助团队成员理解目标，" +
		"并且在工作中不断学习和进步。人们说时间就是生命，所以我们要好好利用每一天。\n"
	sampleHant = "我們的目標是建設一個開放的知識庫。這個系統可以幫助團隊成員理解目標，" +
		"並且在工作中不斷學習和進步。人們說時間就是生命，所以我們要好好利用每一天。\n"
	sampleJapanese = "日本語の文章を正しく読み取ることができるかどうかを確かめるために、" +
		"この短い文を書いています。東京は今日も晴れていて、人々は公園で散歩をしています。\n"
	sampleKorean = "이 문장은 한국어 텍스트를 올바르게 읽을 수 있는지 확인하기 위해 작성되었습니다. " +
		"오늘 서울은 맑고 사람들은 공원에서 산책을 하고 있습니다. 우리는 모두 함께 일합니다.\n"
	sampleASCII = "Plain ASCII text, nothing special here.\n"
)

func encodeText(t *testing.T, e encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := e.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode %q: %v", s, err)
	}
	return b
}

func TestDecodeText(t *testing.T) {
	le := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	be := unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	mixed := "Norsk tekst: Vim er en meget kraftig editor, blåbær og grønn ærfugl.\n"
	tests := []struct {
		name     string
		data     func(t *testing.T) []byte
		want     string
		wantEnc  string
		declared string
	}{
		{"ascii", func(t *testing.T) []byte { return []byte(sampleASCII) }, sampleASCII, "utf-8", ""},
		{"utf8", func(t *testing.T) []byte { return []byte(sampleHans) }, sampleHans, "utf-8", ""},
		{"utf8-bom", func(t *testing.T) []byte { return append([]byte("\xef\xbb\xbf"), sampleLatin...) }, sampleLatin, "utf-8", ""},
		{"utf16le-bom", func(t *testing.T) []byte { return append([]byte{0xff, 0xfe}, encodeText(t, le, sampleHans)...) }, sampleHans, "utf-16le", ""},
		{"utf16be-bom", func(t *testing.T) []byte { return append([]byte{0xfe, 0xff}, encodeText(t, be, sampleLatin)...) }, sampleLatin, "utf-16be", ""},
		{"utf16le-nobom", func(t *testing.T) []byte { return encodeText(t, le, mixed) }, mixed, "utf-16le", ""},
		{"utf16be-nobom", func(t *testing.T) []byte { return encodeText(t, be, mixed) }, mixed, "utf-16be", ""},
		{"gbk", func(t *testing.T) []byte { return encodeText(t, simplifiedchinese.GBK, sampleHans) }, sampleHans, "gb18030", ""},
		{"gb18030", func(t *testing.T) []byte { return encodeText(t, simplifiedchinese.GB18030, sampleHans) }, sampleHans, "gb18030", ""},
		{"big5", func(t *testing.T) []byte { return encodeText(t, traditionalchinese.Big5, sampleHant) }, sampleHant, "big5", ""},
		{"shift_jis", func(t *testing.T) []byte { return encodeText(t, japanese.ShiftJIS, sampleJapanese) }, sampleJapanese, "shift_jis", ""},
		{"euc-jp", func(t *testing.T) []byte { return encodeText(t, japanese.EUCJP, sampleJapanese) }, sampleJapanese, "euc-jp", ""},
		{"euc-kr", func(t *testing.T) []byte { return encodeText(t, korean.EUCKR, sampleKorean) }, sampleKorean, "euc-kr", ""},
		{"windows-1252", func(t *testing.T) []byte { return encodeText(t, charmap.Windows1252, sampleLatin) }, sampleLatin, "windows-1252", ""},
		{"declared-shift_jis", func(t *testing.T) []byte { return encodeText(t, japanese.ShiftJIS, "短い") }, "短い", "shift_jis", "Shift_JIS"},
		{"declared-utf8-wrong", func(t *testing.T) []byte { return encodeText(t, charmap.Windows1252, sampleLatin) }, sampleLatin, "windows-1252", "utf-8"},
		{"declared-unknown", func(t *testing.T) []byte { return []byte(sampleASCII) }, sampleASCII, "utf-8", "no-such-charset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, enc := decodeText(tt.data(t), tt.declared)
			if got != tt.want || enc != tt.wantEnc {
				t.Errorf("decodeText = %q (%s), want %q (%s)", got, enc, tt.want, tt.wantEnc)
			}
		})
	}
}

// TestDecodeTextMixedLatin checks that Latin text with a few accents is not
// mistaken for a CJK encoding, even when short.
func TestDecodeTextMixedLatin(t *testing.T) {
	for _, s := range []string{"café\n", "Zürich ist schön.\n", "Ça va? Très bien. Ñandú.\n", "naïve”\n",
		"Größe\n", "Die Straße ist übermäßig groß.\n", "Ärger über Öl\n", "façade naïveté coöperate\n", "Ñoño año\n",
		"Þórður ætlar að fá sér kaffi í dag.\n", "Å være eller ikke være, det er spørsmålet.\n"} {
		got, enc := decodeText(encodeText(t, charmap.Windows1252, s), "")
		if got != s {
			t.Errorf("decodeText(cp1252 %q) = %q (%s), want %q", s, got, enc, s)
		}
	}
}

// TestParseEncodings runs encoded files through Parse: the text comes back
// as UTF-8, the structure survives and the HTML <meta charset> is honoured.
func TestParseEncodings(t *testing.T) {
	md := "# 見出し\n\n" + sampleJapanese
	doc := parseTextString(t, "a.md", string(encodeText(t, japanese.ShiftJIS, md)))
	if doc.Text != md || len(doc.Sections) == 0 || doc.Sections[0].Kind != Heading || doc.Sections[0].Headings[0] != "見出し" {
		t.Errorf("Shift_JIS markdown = %q %+v", doc.Text, doc.Sections)
	}
	le := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM)
	doc = parseTextString(t, "a.csv", string(encodeText(t, le, "name,city\nAnn,Zürich\n")))
	if !strings.Contains(doc.Text, "name: Ann | city: Zürich") {
		t.Errorf("UTF-16 csv text = %q", doc.Text)
	}
	// The declared charset wins over the detector: these bytes are also
	// plausible as other encodings.
	page := "<html><head><meta charset=\"big5\"><title>t</title></head><body><p>" + sampleHant + "</p></body></html>"
	doc = parseTextString(t, "a.html", string(encodeText(t, traditionalchinese.Big5, page)))
	if !strings.Contains(doc.Text, strings.TrimSpace(sampleHant)) {
		t.Errorf("Big5 html text = %q", doc.Text)
	}
	page = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\"></head><body><p>" + sampleLatin + "</p></body></html>"
	doc = parseTextString(t, "a.html", string(encodeText(t, charmap.Windows1252, page)))
	if !strings.Contains(doc.Text, strings.TrimSpace(sampleLatin)) {
		t.Errorf("cp1252 html text = %q", doc.Text)
	}
	xml := "<?xml version=\"1.0\" encoding=\"GB2312\"?><r><p>" + strings.TrimSpace(sampleHans) + "</p></r>"
	doc = parseTextString(t, "a.xml", string(encodeText(t, simplifiedchinese.GBK, xml)))
	if !strings.Contains(doc.Text, strings.TrimSpace(sampleHans)) {
		t.Errorf("GB2312 xml text = %q", doc.Text)
	}
}

func TestDecodeTextAlwaysValid(t *testing.T) {
	inputs := [][]byte{
		{0xff}, {0xfe, 0xff, 0xd8, 0x00}, {0xff, 0xfe, 0x00, 0xd8, 0x41}, {0x81}, {0xe9, 0x0a},
		bytes.Repeat([]byte{0x80, 0xff}, 100), []byte("abc\xed\xa0\x80def"),
	}
	for _, in := range inputs {
		got, _ := decodeText(in, "")
		if !utf8.ValidString(got) {
			t.Errorf("decodeText(%q) = %q, not valid UTF-8", in, got)
		}
	}
}
