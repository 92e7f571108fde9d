package chunk

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestGoldenCounts pins Count to token counts published for OpenAI's
// tiktoken (sources in testdata/counts.txt).
func TestGoldenCounts(t *testing.T) {
	f, err := os.Open("testdata/counts.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.SplitN(line, "\t", 3)
		if len(fields) != 3 {
			t.Fatalf("bad line %q", line)
		}
		want, err := strconv.Atoi(fields[1])
		if err != nil {
			t.Fatalf("bad count in %q", line)
		}
		text, err := strconv.Unquote(fields[2])
		if err != nil {
			t.Fatalf("bad text in %q", line)
		}
		c, err := New(fields[0])
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Count(text); got != want {
			t.Errorf("%s Count(%q) = %d, want %d", fields[0], text, got, want)
		}
		if !raceEnabled {
			if got := len(reference(t, fields[0]).EncodeOrdinary(text)); got != want {
				t.Errorf("tiktoken-go %s count(%q) = %d, want %d", fields[0], text, got, want)
			}
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("read %d reference counts, want at least 10", n)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name, enc, want string
		err             bool
	}{
		{"default", "", CL100K, false},
		{"cl100k", CL100K, CL100K, false},
		{"o200k", O200K, O200K, false},
		{"unknown", "p50k_base", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.enc)
			if tc.err {
				if err == nil {
					t.Fatalf("New(%q) = nil error, want ErrUnknownEncoding", tc.enc)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tc.enc, err)
			}
			if c.Encoding() != tc.want {
				t.Errorf("New(%q).Encoding() = %q, want %q", tc.enc, c.Encoding(), tc.want)
			}
		})
	}
}
