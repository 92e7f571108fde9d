package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// The crash tests re-run the test binary as a child that ingests files and
// prints each acknowledgement, then kill -9 it part-way.
func TestMain(m *testing.M) {
	if dir := os.Getenv("QUARRY_CRASH_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	if dir := os.Getenv("QUARRY_RESTART_CHILD"); dir != "" {
		restartChild(dir)
		return
	}
	if dir := os.Getenv("QUARRY_CRASH_MIXED"); dir != "" {
		mixedChild(dir)
		return
	}
	if dir := os.Getenv("QUARRY_CRASH_UPLOADS"); dir != "" {
		uploadsChild(dir)
		return
	}
	code := m.Run()
	removeBenchDirs()
	os.Exit(code)
}

const crashFiles = 150

func crashBody(i int) string {
	return fmt.Sprintf("file %d is about uniqueterm%d and the quick brown fox %s", i, i, strings.Repeat("lorem ipsum ", 40))
}

// crashChild adds files one by one, printing "added ID" once AddFile returns
// and "done ID" once the file is completed, then deletes every tenth file
// and prints "deleted ID" when DeleteFile returns.
func crashChild(dir string) {
	ctx := context.Background()
	db, err := Open(ctx, dir, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	vs, err := db.VectorStoreByName(ctx, "crash")
	if err != nil {
		vs, err = db.CreateVectorStore(ctx, VectorStoreParams{Name: "crash"})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
	for i := range crashFiles {
		f, err := vs.AddFile(ctx, FileInput{Name: fmt.Sprintf("f%03d.txt", i), Body: strings.NewReader(crashBody(i))})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("added", f.ID, i)
		if f, err = vs.WaitFile(ctx, f.ID); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("done", f.ID, i)
		if i%10 == 9 {
			if err := vs.DeleteFile(ctx, f.ID); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			fmt.Println("deleted", f.ID, i)
		}
	}
	db.Close()
	fmt.Println("finished")
}

func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: spawns processes")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "QUARRY_CRASH_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	added, done, deleted := map[string]int{}, map[string]int{}, map[string]int{}
	sc := bufio.NewScanner(out)
	killAt := 40 // kill after this many completed files
	for sc.Scan() {
		var what, id string
		var i int
		if _, err := fmt.Sscan(sc.Text(), &what, &id, &i); err != nil {
			t.Fatalf("child: %s", sc.Text())
		}
		switch what {
		case "added":
			added[id] = i
		case "done":
			done[id] = i
		case "deleted":
			deleted[id] = i
		}
		if len(done) == killAt {
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	cmd.Wait()
	if len(done) < killAt {
		t.Fatalf("child died early after %d files", len(done))
	}

	ctx := context.Background()
	db := openTest(t, dir, Options{})
	defer db.Close()
	vs, err := db.VectorStoreByName(ctx, "crash")
	if err != nil {
		t.Fatal(err)
	}
	// A delete in flight when the child died (done, due for deletion, not
	// acknowledged) may or may not have happened.
	inFlight := map[string]bool{}
	for id, i := range done {
		if _, gone := deleted[id]; i%10 == 9 && !gone {
			inFlight[id] = true
		}
	}
	// Everything acknowledged is there (or finishes ingesting now); nothing
	// deleted came back.
	present := 0
	for id, i := range added {
		f, err := vs.WaitFile(ctx, id)
		if err == nil {
			present++
		}
		if inFlight[id] {
			continue
		}
		if _, gone := deleted[id]; gone {
			if err == nil {
				t.Errorf("deleted file %d came back", i)
			}
			continue
		}
		if err != nil {
			t.Errorf("acknowledged file %d lost: %v", i, err)
			continue
		}
		if f.Status != StatusCompleted {
			t.Errorf("file %d status %s", i, f.Status)
		}
	}
	info, err := vs.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.FileCounts.Completed != present || info.FileCounts.Total != present {
		t.Errorf("counts = %+v, want %d completed", info.FileCounts, present)
	}
	if min, max := len(added)-len(deleted)-len(inFlight), len(added)-len(deleted); present < min || present > max {
		t.Errorf("%d files present, want %d..%d", present, min, max)
	}
	for id, i := range done {
		if inFlight[id] {
			continue
		}
		res, err := vs.Search(ctx, SearchRequest{Query: []string{fmt.Sprintf("uniqueterm%d", i)}, MaxResults: 1, Ranking: RankingOptions{Ranker: RankerNone}})
		if err != nil {
			t.Fatal(err)
		}
		_, gone := deleted[id]
		found := len(res.Data) > 0 && res.Data[0].FileID == id
		if found == gone {
			t.Errorf("file %d (deleted=%v): found by its unique term = %v", i, gone, found)
		}
	}
}
