package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/store"
)

// The hostile-input suite. Each case runs in a child process (this test
// binary again, TestHostileChild) holding a server with the default
// limits, so that the parent can read the child's peak RSS from the
// kernel: the case passes when the answer is the documented one, the
// server keeps serving, and the child's peak RSS (server and the
// in-process client together) stays under hostileRSS.
//
// The fast cases run with `go test ./server`; the slow ones (hundreds of MB
// uploaded, or seconds of parsing) only with QUARRY_HOSTILE_SLOW=1:
//
//	QUARRY_HOSTILE_SLOW=1 go test -run TestHostile -v ./server
//
// The suite skips under the race detector, whose shadow memory would be
// measured too; CI runs the fast cases in a plain build.

// hostileRSS is the bound: a server's peak RSS under 1 GiB per
// hostile file or request with default limits.
const hostileRSS = 1 << 30

type hostileCase struct {
	name string
	slow bool
	run  func(t *testing.T, ts *testServer)
}

var hostileCases = []hostileCase{
	{"docx bomb under the ratio limit (1 GiB at 158:1)", false, uploadFails("bomb-ratio.docx", genDocxBomb(1<<30-2<<20), "invalid_file", "limit")},
	{"docx bomb over budget (1.5 GiB at 158:1)", true, uploadFails("bomb-over.docx", genDocxBomb(3<<29), "invalid_file", "limit")},
	{"pptx of 2,000 slides of 400 KiB", true, uploadFails("slides.pptx", genPptxSlides(2000, 400<<10), "invalid_file", "limit")},
	{"PDF of 1,024 pages of 1 MiB of Tj operators", true, uploadEnds("text-ops.pdf", genTextOperatorPDF(1024, 1<<20))},
	{"500 MB of zero bytes", true, uploadFails("zeros.txt", genZeros(500<<20), "unsupported_file", "")},
	{"200 MB of text", true, uploadFails("big.txt", genWords(200<<20), "invalid_file", "limit")},
	{"4 uploads of 8,000 form fields of 60 KiB", false, manyFields},
	{"huge queries", false, hugeQueries},
	{"endless bodies", false, endlessBodies},
	{"cross-site and rebinding requests", false, crossSite},
}

// TestHostile runs each case in a child process and bounds its peak RSS.
func TestHostile(t *testing.T) {
	if raceEnabled {
		t.Skip("skipping: peak RSS under the race detector measures its shadow memory (CI runs this suite without -race)")
	}
	if os.Getenv("QUARRY_HOSTILE_CASE") != "" {
		t.Skip("in the child")
	}
	slow := os.Getenv("QUARRY_HOSTILE_SLOW") == "1"
	for _, c := range hostileCases {
		t.Run(c.name, func(t *testing.T) {
			if c.slow && !slow {
				t.Skip("slow case: set QUARRY_HOSTILE_SLOW=1 to run it")
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestHostileChild$", "-test.v", "-test.timeout=15m")
			cmd.Env = append(os.Environ(), "QUARRY_HOSTILE_CASE="+c.name)
			t0 := time.Now()
			out, err := cmd.CombinedOutput()
			elapsed := time.Since(t0)
			if err != nil || !strings.Contains(string(out), "--- PASS: TestHostileChild") {
				t.Fatalf("child: %v\n%s", err, out)
			}
			ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			if !ok {
				t.Fatal("no rusage for the child")
			}
			peak := ru.Maxrss << 10 // KiB on Linux
			t.Logf("peak RSS %d MiB, %.1f s", peak>>20, elapsed.Seconds())
			if peak >= hostileRSS {
				t.Errorf("peak RSS %d MiB, want < %d MiB\n%s", peak>>20, hostileRSS>>20, out)
			}
		})
	}
}

// TestHostileChild runs one case of TestHostile, named by
// QUARRY_HOSTILE_CASE, against a server with default limits.
func TestHostileChild(t *testing.T) {
	name := os.Getenv("QUARRY_HOSTILE_CASE")
	if name == "" {
		t.Skip("runs as a child of TestHostile")
	}
	for _, c := range hostileCases {
		if c.name != name {
			continue
		}
		db, err := store.Open(context.Background(), t.TempDir(), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		hs := httptest.NewServer(New(db, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
		t.Cleanup(hs.Close)
		ts := &testServer{t: t, db: db, url: hs.URL}
		c.run(t, ts)
		// The server still serves.
		if code, out := ts.do("GET", "/v1/vector_stores", nil); code != 200 {
			t.Errorf("after the case: list vector stores %d %v", code, out)
		}
		return
	}
	t.Fatalf("no case %q", name)
}

// streamUpload posts a generated file to /v1/files without holding it.
func (ts *testServer) streamUpload(filename string, gen func(io.Writer) error) (int, obj) {
	ts.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := mw.WriteField("purpose", "assistants")
		if err == nil {
			var fw io.Writer
			if fw, err = mw.CreateFormFile("file", filename); err == nil {
				if err = gen(fw); err == nil {
					err = mw.Close()
				}
			}
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", ts.url+"/v1/files", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return ts.send(req)
}

// ingestHostile uploads a generated file next to a normal one and waits for
// its terminal state; the normal file must stay searchable.
func ingestHostile(t *testing.T, ts *testServer, filename string, gen func(io.Writer) error) obj {
	vs := ts.createVS("hostile")
	normal := ts.upload("normal.txt", "a normal file about zebras and engines")
	ts.must("POST", "/v1/vector_stores/"+vs+"/files", obj{"file_id": normal})
	ts.waitFile(vs, normal)
	code, up := ts.streamUpload(filename, gen)
	if code != 200 {
		t.Fatalf("upload %s: %d %v", filename, code, up)
	}
	id := up["id"].(string)
	ts.must("POST", "/v1/vector_stores/"+vs+"/files", obj{"file_id": id})
	deadline := time.Now().Add(10 * time.Minute)
	var f obj
	for {
		f = ts.must("GET", "/v1/vector_stores/"+vs+"/files/"+id, nil)
		if f["status"] != "in_progress" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still in_progress after 10 minutes", filename)
		}
		time.Sleep(100 * time.Millisecond)
	}
	res := ts.must("POST", "/v1/vector_stores/"+vs+"/search", obj{"query": "zebras"})
	if data := res["data"].([]any); len(data) == 0 || data[0].(obj)["file_id"] != normal {
		t.Errorf("search after %s: %v, want the normal file first", filename, res)
	}
	t.Logf("%s: %v %v", filename, f["status"], f["last_error"])
	return f
}

// uploadFails expects the file to fail with code, its message containing
// msg.
func uploadFails(filename string, gen func(io.Writer) error, code, msg string) func(*testing.T, *testServer) {
	return func(t *testing.T, ts *testServer) {
		f := ingestHostile(t, ts, filename, gen)
		le, _ := f["last_error"].(obj)
		if f["status"] != "failed" || le == nil || le["code"] != code || !strings.Contains(fmt.Sprint(le["message"]), msg) {
			t.Errorf("%s: %v %v, want failed with %s naming %q", filename, f["status"], le, code, msg)
		}
	}
}

// uploadEnds expects the file to complete, or to fail with a reason.
func uploadEnds(filename string, gen func(io.Writer) error) func(*testing.T, *testServer) {
	return func(t *testing.T, ts *testServer) {
		f := ingestHostile(t, ts, filename, gen)
		le, _ := f["last_error"].(obj)
		if f["status"] != "completed" && (f["status"] != "failed" || le == nil || le["message"] == "") {
			t.Errorf("%s: %v %v, want completed or failed with a reason", filename, f["status"], le)
		}
	}
}

// manyFields: four concurrent uploads of 8,000 fields of 60 KiB each are
// refused with 400 naming the field cap.
func manyFields(t *testing.T, ts *testServer) {
	const fields, size = 8000, 60 << 10
	var wg sync.WaitGroup
	codes := make([]int, 4)
	outs := make([]obj, 4)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr, pw := io.Pipe()
			go func() {
				chunk := strings.Repeat("x", size)
				for i := range fields {
					if _, err := fmt.Fprintf(pw, "--b\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\n%s\r\n", i, chunk); err != nil {
						return
					}
				}
				fmt.Fprint(pw, "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc\r\n--b--\r\n")
				pw.Close()
			}()
			req, _ := http.NewRequest("POST", ts.url+"/v1/files", pr)
			req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
			resp, err := http.DefaultClient.Do(req)
			pr.CloseWithError(errors.New("done"))
			if err != nil {
				outs[i] = obj{"error": err.Error()}
				return
			}
			defer resp.Body.Close()
			codes[i] = resp.StatusCode
			data, _ := io.ReadAll(resp.Body)
			outs[i] = obj{"body": string(data)}
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 400 || !strings.Contains(fmt.Sprint(outs[i]), "fields") {
			t.Errorf("upload %d of 8,000 fields: %d %v, want 400 naming the field cap", i, c, outs[i])
		}
	}
	if got := ts.must("GET", "/v1/files", nil)["data"].([]any); len(got) != 0 {
		t.Errorf("uploads left by refused requests: %v", got)
	}
}

// hugeQueries: a 4 MiB query is refused with 400; a query at the size
// limit made of distinct terms answers 200.
func hugeQueries(t *testing.T, ts *testServer) {
	vs := ts.createVS("q")
	id := ts.upload("a.txt", "zebras and engines")
	ts.must("POST", "/v1/vector_stores/"+vs+"/files", obj{"file_id": id})
	ts.waitFile(vs, id)
	var b strings.Builder
	for i := 0; b.Len() < 4<<20-64; i++ { // the body just under maxJSONBytes
		fmt.Fprintf(&b, "t%x ", i*2654435761)
	}
	t0 := time.Now()
	code, out := ts.do("POST", "/v1/vector_stores/"+vs+"/search", obj{"query": b.String()})
	if code != 400 || out["error"].(obj)["param"] != "query" {
		t.Errorf("4 MiB query: %d %v, want 400 on 'query'", code, out)
	}
	t.Logf("4 MiB query refused in %v", time.Since(t0))
	q := b.String()[:MaxQueryBytes-16]
	t0 = time.Now()
	if code, out := ts.do("POST", "/v1/vector_stores/"+vs+"/search", obj{"query": q}); code != 200 {
		t.Errorf("query of %d bytes, %d distinct terms: %d %v", len(q), strings.Count(q, " "), code, out)
	}
	t.Logf("query of %d distinct terms answered in %v", strings.Count(q, " "), time.Since(t0))
	// Many queries of distinct terms in one request are bounded by the
	// same limit.
	qs := make([]string, 64)
	for i := range qs {
		qs[i] = b.String()[i*(MaxQueryBytes/8) : (i+1)*(MaxQueryBytes/8)]
	}
	if code, out := ts.do("POST", "/v1/vector_stores/"+vs+"/search", obj{"query": qs}); code != 400 {
		t.Errorf("64 queries of %d bytes: %d %v, want 400", MaxQueryBytes/8, code, out)
	}
}

// endlessBodies: 100 requests whose bodies trickle one byte a second,
// beyond the in-flight cap, are all answered (408 or 503) and closed by
// the server with default options.
func endlessBodies(t *testing.T, ts *testServer) {
	vs := ts.createVS("v")
	addr := strings.TrimPrefix(ts.url, "http://")
	const n = 100
	type answer struct {
		line string
		err  error
	}
	answers := make(chan answer, n)
	var conns []net.Conn
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		path := "/v1/vector_stores/" + vs + "/search"
		head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{\"query\":\"a", path, addr)
		if i%2 == 1 {
			head = fmt.Sprintf("POST /v1/files HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000000\r\n\r\n"+
				"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n", addr)
		}
		io.WriteString(c, head)
		go func() {
			br := bufio.NewReader(c)
			line, err := br.ReadString('\n')
			if err == nil {
				// The server closes the connection after answering.
				_, err = io.Copy(io.Discard, br)
			}
			answers <- answer{line, err}
		}()
	}
	stop := make(chan struct{})
	go func() { // one byte a second on every connection
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
			for _, c := range conns {
				c.Write([]byte("a"))
			}
		}
	}()
	defer close(stop)
	deadline := time.After(2 * (DefaultBodyGrace + DefaultBodyIdleTimeout))
	statuses := map[string]int{}
	for range n {
		select {
		case a := <-answers:
			f := strings.Fields(a.line)
			if len(f) < 2 || (f[1] != "408" && f[1] != "503") || a.err != nil {
				t.Errorf("endless body: answer %q, then %v; want 408 or 503 and the connection closed", a.line, a.err)
			}
			if len(f) >= 2 {
				statuses[f[1]]++
			}
		case <-deadline:
			t.Fatalf("%d of %d endless bodies still open after %v (answers so far %v)", n-len(statuses), n, 2*(DefaultBodyGrace+DefaultBodyIdleTimeout), statuses)
		}
	}
	t.Logf("endless bodies: %v", statuses)
	for _, c := range conns {
		c.Close()
	}
}

// crossSite: without an API key, cross-site simple requests and a foreign
// Host (DNS rebinding) are refused and change nothing.
func crossSite(t *testing.T, ts *testServer) {
	vs := ts.createVS("victim")
	id := ts.upload("private.txt", "private zebra notes")
	evil := map[string]string{"Origin": "http://evil.example"}
	send := func(method, path, host, ct string, hdr map[string]string, body io.Reader) (int, string) {
		req, _ := http.NewRequest(method, ts.url+path, body)
		if host != "" {
			req.Host = host
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	if code, body := send("POST", "/v1/vector_stores", "", "text/plain", evil, strings.NewReader(`{"name":"csrf"}`)); code != 403 {
		t.Errorf("cross-site text/plain create: %d %s, want 403", code, body)
	}
	mb, ct := multipartBody(t, "planted.txt", "planted", map[string]string{"purpose": "assistants"})
	if code, body := send("POST", "/v1/files", "", ct, evil, mb); code != 403 {
		t.Errorf("cross-site multipart upload: %d %s, want 403", code, body)
	}
	if code, body := send("POST", "/v1/vector_stores/"+vs+"/search", "", "text/plain", nil, strings.NewReader(`{"query":"zebra"}`)); code < 400 {
		t.Errorf("text/plain search (no preflight): %d %s, want refused", code, body)
	}
	code, body := send("GET", "/v1/files/"+id+"/content", "evil.example:8080", "", map[string]string{"Origin": "http://evil.example:8080"}, nil)
	if code != 403 || strings.Contains(body, "zebra") {
		t.Errorf("rebinding read: %d %q, want 403 without the content", code, body)
	}
	if n := len(ts.must("GET", "/v1/vector_stores", nil)["data"].([]any)); n != 1 {
		t.Errorf("%d vector stores after refused writes, want 1", n)
	}
	if n := len(ts.must("GET", "/v1/files", nil)["data"].([]any)); n != 1 {
		t.Errorf("%d uploads after a refused upload, want 1", n)
	}
}
