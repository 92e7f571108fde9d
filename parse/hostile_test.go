package parse

import (
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// zeros yields n NUL bytes without holding them.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), z.n))
	clear(p[:k])
	z.n -= int64(k)
	return k, nil
}

func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestHostileCheapRejects: a 500 MB binary stream and an oversized text
// are refused at O(1) memory; too much extracted text fails naming the limit.
func TestHostileCheapRejects(t *testing.T) {
	var err error
	n := allocated(func() { _, err = Parse(context.Background(), "z.txt", &zeros{500 << 20}, nil) })
	if !errors.Is(err, ErrUnsupported) || n > 1<<20 {
		t.Errorf("500 MB of NULs: %v, %d bytes allocated", err, n)
	}
	big := strings.NewReader(strings.Repeat("a ", 1<<20))
	n = allocated(func() { _, err = Parse(context.Background(), "a.txt", big, &Options{MaxTextBytes: 1 << 19}) })
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "limit") || n > 1<<20 {
		t.Errorf("2 MiB text, 512 KiB budget: %v, %d bytes allocated", err, n)
	}
	_, err = Parse(context.Background(), "a.md", strings.NewReader(strings.Repeat("para\n\n", 200<<10)), &Options{MaxTextBytes: 1 << 20})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "MaxTextBytes") {
		t.Errorf("1.2 MB markdown over a 1 MiB text budget: %v", err)
	}
}
