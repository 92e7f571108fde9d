package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file holds what the serve crash harness and the serve load test
// share: a quarry serve child process and an HTTP client that speaks only
// the OpenAI-shaped API, so the tests hold whatever the server does inside.

// served is one quarry serve child process.
type served struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:PORT
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's result, once done is closed
}

// syncBuffer is a strings.Builder safe for the child's stderr copier and
// the test reading it at once.
type syncBuffer struct {
	mu sync.Mutex
	sb strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.String()
}

// quarryExe returns a command line running quarry: the test binary itself
// (TestMain runs main when QUARRY_TEST_RUN_MAIN is set), or, when race is
// set and this binary was built without -race, a `go build -race` of this
// package in a temporary directory.
func quarryExe(t testing.TB, race bool) (string, []string) {
	t.Helper()
	if race && !raceEnabled {
		bin := filepath.Join(t.TempDir(), "quarry-race")
		cmd := exec.Command("go", "build", "-race", "-o", bin, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build -race: %v\n%s", err, out)
		}
		return bin, nil
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe, []string{"QUARRY_TEST_RUN_MAIN=1"}
}

// startServe starts `quarry serve` over dir on a free loopback port (or
// as the extra flags say) and waits, up to within, for it to announce its
// address.
func startServe(exe string, env []string, dir string, within time.Duration, extra ...string) (*served, error) {
	cmd := exec.Command(exe, append([]string{"serve", "--store", dir, "--addr", "127.0.0.1:0"}, extra...)...)
	cmd.Env = append(append(os.Environ(), env...), "GORACE=halt_on_error=0 exitcode=66")
	s := &served{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = s.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.err = cmd.Wait(); close(s.done) }()
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		l, _ := r.ReadString('\n')
		line <- l
		io.Copy(io.Discard, r)
	}()
	select {
	case l := <-line:
		i := strings.Index(l, "http://")
		if i < 0 {
			s.kill()
			return nil, fmt.Errorf("serve printed %q; stderr:\n%s", l, s.stderr)
		}
		s.base = strings.TrimSuffix(strings.Fields(l[i:])[0], "/v1")
		return s, nil
	case <-time.After(within):
		s.kill()
		return nil, fmt.Errorf("serve did not start within %v; stderr:\n%s", within, s.stderr)
	}
}

// exitCode waits, up to within, for the process to exit and returns its
// exit status (killing it and failing t past within).
func (s *served) exitCode(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(within):
		s.kill()
		t.Fatalf("quarry did not exit within %v", within)
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		return ee.ExitCode()
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	return 0
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *served) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

// api is an HTTP client of the OpenAI-shaped API.
type api struct {
	base string
	c    *http.Client
}

func newAPI(base string) *api {
	return &api{base: base, c: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// statusError is a response that was not 2xx.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.code, e.body) }

func httpStatus(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.code
	}
	return 0
}

// do sends a request and decodes a 2xx JSON answer into out (if not nil).
// A transport error (the server gone) is returned as is.
func (a *api) do(ctx context.Context, method, path, ctype string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := a.c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return &statusError{res.StatusCode, strings.TrimSpace(string(b))}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

func (a *api) json(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	return a.do(ctx, method, path, "application/json", body, out)
}

type idJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func (a *api) createVectorStore(ctx context.Context, name string) (string, error) {
	var out idJSON
	err := a.json(ctx, "POST", "/v1/vector_stores", map[string]any{"name": name}, &out)
	return out.ID, err
}

func (a *api) deleteVectorStore(ctx context.Context, id string) error {
	return a.json(ctx, "DELETE", "/v1/vector_stores/"+id, nil, nil)
}

// upload creates a file object (purpose assistants) and returns its id.
func (a *api) upload(ctx context.Context, name, text string) (string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("purpose", "assistants")
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		return "", err
	}
	io.WriteString(fw, text)
	mw.Close()
	var out idJSON
	err = a.do(ctx, "POST", "/v1/files", mw.FormDataContentType(), &buf, &out)
	return out.ID, err
}

// attach adds an uploaded file to a vector store; it returns the file's
// status.
func (a *api) attach(ctx context.Context, vs, fileID string) (string, error) {
	var out idJSON
	err := a.json(ctx, "POST", "/v1/vector_stores/"+vs+"/files", map[string]any{"file_id": fileID}, &out)
	return out.Status, err
}

func (a *api) deleteFile(ctx context.Context, vs, fileID string) error {
	return a.json(ctx, "DELETE", "/v1/vector_stores/"+vs+"/files/"+fileID, nil, nil)
}

func (a *api) getFile(ctx context.Context, vs, fileID string) (string, error) {
	var out idJSON
	err := a.json(ctx, "GET", "/v1/vector_stores/"+vs+"/files/"+fileID, nil, &out)
	return out.Status, err
}

// listFiles returns every file of a vector store with its status, page by
// page.
func (a *api) listFiles(ctx context.Context, vs string) (map[string]string, error) {
	files := map[string]string{}
	after := ""
	for {
		var page struct {
			Data    []idJSON `json:"data"`
			HasMore bool     `json:"has_more"`
			LastID  *string  `json:"last_id"`
		}
		path := "/v1/vector_stores/" + vs + "/files?limit=100"
		if after != "" {
			path += "&after=" + after
		}
		if err := a.json(ctx, "GET", path, nil, &page); err != nil {
			return nil, err
		}
		for _, f := range page.Data {
			files[f.ID] = f.Status
		}
		if !page.HasMore || page.LastID == nil || len(page.Data) == 0 {
			return files, nil
		}
		after = *page.LastID
	}
}

// search returns the file ids of a search's results, in order.
func (a *api) search(ctx context.Context, vs, query string, body map[string]any) ([]string, error) {
	in := map[string]any{"query": query, "max_num_results": 10}
	for k, v := range body {
		in[k] = v
	}
	var out struct {
		Data []struct {
			FileID string `json:"file_id"`
		} `json:"data"`
	}
	if err := a.json(ctx, "POST", "/v1/vector_stores/"+vs+"/search", in, &out); err != nil {
		return nil, err
	}
	ids := make([]string, len(out.Data))
	for i, d := range out.Data {
		ids[i] = d.FileID
	}
	return ids, nil
}
