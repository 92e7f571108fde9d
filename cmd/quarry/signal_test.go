package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/store"
)

// TestMain lets the test binary run as quarry itself, so that the signal
// tests run main in a child process without building a binary.
func TestMain(m *testing.M) {
	if os.Getenv("QUARRY_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"quarry"}, os.Args[1:]...)
		main()
		return
	}
	os.Exit(m.Run())
}

// child starts quarry with args in a child process.
func child(t *testing.T, args ...string) (*exec.Cmd, *strings.Builder, io.ReadCloser) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "QUARRY_TEST_RUN_MAIN=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, &stderr, stdout
}

func exitCode(t *testing.T, cmd *exec.Cmd, within time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		cmd.Process.Kill()
		t.Fatalf("quarry did not exit within %v", within)
		return -1
	}
}

// Issue 12, item 4, and issue 18 defect 5: 'quarry index' stops cleanly on
// SIGTERM and SIGINT, exits 143 and 130 with one line, and a second run
// resumes the files already added.
func TestIndexSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: indexes thousands of files in a child process")
	}
	docs := t.TempDir()
	files := map[string]string{}
	for i := range 600 {
		files[fmt.Sprintf("d%02d/f%05d.txt", i%40, i)] = fmt.Sprintf("Note %d about topic%d. %s", i, i, strings.Repeat("words to index ", 30))
	}
	writeFiles(t, docs, files)
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
		name string
	}{{syscall.SIGTERM, 143, "SIGTERM"}, {syscall.SIGINT, 130, "SIGINT"}} {
		t.Run(tc.name, func(t *testing.T) {
			st := t.TempDir()
			cmd, stderr, stdout := child(t, "index", "--store", st, docs)
			go io.Copy(io.Discard, stdout)
			// Signal once the run has opened its store and is adding files.
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err := os.Stat(filepath.Join(st, "quarry.db")); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the store never appeared")
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			code := exitCode(t, cmd, 60*time.Second)
			msg := stderr.String()
			if code == 0 {
				t.Fatalf("index finished before the signal; stderr %q", msg)
			}
			if code != tc.code {
				t.Errorf("exit status %d, want %d; stderr %q", code, tc.code, msg)
			}
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "quarry: interrupted by "+tc.name) || strings.Contains(msg, "context canceled") {
				t.Errorf("stderr %q, want one line 'quarry: interrupted by %s...'", msg, tc.name)
			}
			t.Logf("stderr: %s", msg)
			// The store opens, and the next run resumes: what was added
			// stays, the rest is added, all of it searchable.
			out, errOut, err := quarry(t, "index", "--store", st, docs)
			if err != nil {
				t.Fatalf("second run: %v\n%s", err, errOut)
			}
			var added, unchanged int
			if _, err := fmt.Sscanf(out[strings.Index(out, ": ")+2:], "%d added, %d unchanged", &added, &unchanged); err != nil {
				t.Fatalf("summary %q: %v", out, err)
			}
			if added+unchanged != 600 || unchanged == 0 {
				t.Errorf("second run %q: want the files added before the signal unchanged and the rest added", out)
			}
			out, _, _ = quarry(t, "ls", "--store", st)
			if n := strings.Count(out, "completed"); n != 600 {
				t.Errorf("%d files completed after resuming, want 600", n)
			}
		})
	}
}

// Issue 12, item 4: 'quarry serve' drains in-flight requests and closes the
// store on SIGTERM and SIGINT, and exits at once on a second signal.
func TestServeSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("runs quarry serve in a child process")
	}
	start := func(t *testing.T, st string) (*served, string) {
		exe, env := quarryExe(t, false)
		s, err := startServe(exe, env, st, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.kill)
		return s, s.base
	}
	// slowRequest starts creating a vector store, its body sent in two
	// halves; it returns the writer of the second half and the response.
	slowRequest := func(t *testing.T, base, name string) (*io.PipeWriter, chan *http.Response) {
		pr, pw := io.Pipe()
		req, _ := http.NewRequestWithContext(context.Background(), "POST", base+"/v1/vector_stores", pr)
		req.Header.Set("Content-Type", "application/json")
		resc := make(chan *http.Response, 1)
		go func() {
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				resc <- nil
				return
			}
			resc <- res
		}()
		if _, err := pw.Write([]byte(`{"name": `)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // the request is in the handler
		return pw, resc
	}
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
	}{{syscall.SIGTERM, "SIGTERM"}, {syscall.SIGINT, "SIGINT"}} {
		t.Run(tc.name, func(t *testing.T) {
			st := t.TempDir()
			s, base := start(t, st)
			pw, resc := slowRequest(t, base, "drained")
			if err := s.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			// The server still finishes the request it had.
			pw.Write([]byte(`"drained"}`))
			pw.Close()
			res := <-resc
			if res == nil || res.StatusCode != 200 {
				t.Fatalf("in-flight request after %s: %v", tc.name, res)
			}
			res.Body.Close()
			if code := s.exitCode(t, 30*time.Second); code != 0 {
				t.Errorf("exit status %d after a clean stop, want 0; stderr:\n%s", code, s.stderr)
			}
			if !strings.Contains(s.stderr.String(), "stopped: store closed") {
				t.Errorf("no clean close in stderr:\n%s", s.stderr)
			}
			// Acknowledged before the stop, so in the store after it.
			db, err := store.Open(context.Background(), st, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.VectorStoreByName(context.Background(), "drained"); err != nil {
				t.Errorf("vector store created by the drained request: %v", err)
			}
		})
	}
	t.Run("second signal", func(t *testing.T) {
		s, base := start(t, t.TempDir())
		pw, _ := slowRequest(t, base, "never")
		defer pw.Close()
		s.cmd.Process.Signal(syscall.SIGTERM)
		time.Sleep(300 * time.Millisecond)
		s.cmd.Process.Signal(syscall.SIGTERM)
		if code := s.exitCode(t, 10*time.Second); code != 143 {
			t.Errorf("exit status %d after a second SIGTERM, want 143; stderr:\n%s", code, s.stderr)
		}
		if !strings.Contains(s.stderr.String(), "SIGTERM again: exiting now") {
			t.Errorf("stderr:\n%s", s.stderr)
		}
	})
}
