package parse

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// textBenchInputs builds about 1 MB of each format from repeated, varied prose.
func textBenchInputs(b *testing.B) map[string][]byte {
	const para = "Retrieval engines split documents into chunks, embed them and rank them with BM25 and vectors. "
	var md, page, csv, js, txt strings.Builder
	page.WriteString("<html><head><title>t</title><script>var x=1;</script></head><body>")
	csv.WriteString("id,name,city,notes\n")
	js.WriteString("[")
	for i := 0; md.Len() < 1<<20; i++ {
		fmt.Fprintf(&md, "## Section %d\n\n%s%s\n\n- item %d\n- item\n\n```go\nfunc f%d() {}\n```\n\n| a | b |\n|---|---|\n| %d | x |\n\n", i, para, para, i, i, i)
		fmt.Fprintf(&page, "<h2>Section %d</h2><p>%s<b>%s</b></p><ul><li>item %d</li></ul><table><tr><th>a</th><th>b</th></tr><tr><td>%d</td><td>x &amp; y</td></tr></table>", i, para, para, i, i)
		fmt.Fprintf(&csv, "%d,\"Name %d\",City,\"%s\"\n", i, i, para)
		if i > 0 {
			js.WriteString(",")
		}
		fmt.Fprintf(&js, `{"id":%d,"name":"Name %d","tags":["a","b"],"notes":%q}`, i, i, para)
		fmt.Fprintf(&txt, "%s%d\n", para, i)
	}
	page.WriteString("</body></html>")
	js.WriteString("]")
	u16, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(txt.String()))
	if err != nil {
		b.Fatal(err)
	}
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(strings.Repeat(sampleHans, (1<<20)/len(sampleHans))))
	if err != nil {
		b.Fatal(err)
	}
	return map[string][]byte{
		"md": []byte(md.String()), "html": []byte(page.String()), "csv": []byte(csv.String()),
		"json": []byte(js.String()), "utf16.txt": u16, "gbk.txt": gbk,
	}
}

// BenchmarkExtractText measures Parse throughput (MB/s of input) per format.
func BenchmarkExtractText(b *testing.B) {
	inputs := textBenchInputs(b)
	for _, name := range []string{"md", "html", "csv", "json", "utf16.txt", "gbk.txt"} {
		data := inputs[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var sections int
			for b.Loop() {
				doc, err := Parse(context.Background(), "bench."+name, bytes.NewReader(data), nil)
				if err != nil {
					b.Fatal(err)
				}
				sections = len(doc.Sections)
			}
			b.ReportMetric(float64(sections), "sections")
		})
	}
}
