package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
)

// The kill test's helper process is this test binary again, running
// TestKillChild with these variables set.
const (
	killURLEnv = "FLOWGUARD_STORE_KILL_URL"
	killJobEnv = "FLOWGUARD_STORE_KILL_JOB"
	killBatch  = 20
)

// TestKillChild is the helper process of TestKill: it starts a job, then
// inserts batches of alerts for it until it is killed, and after every
// commit writes the batch's IDs to file descriptor 3, one line a batch.
func TestKillChild(t *testing.T) {
	url := os.Getenv(killURLEnv)
	if url == "" {
		t.Skip("helper process of TestKill")
	}
	ctx := context.Background()
	out := os.NewFile(3, "committed")
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "kill child:", err)
		os.Exit(2)
	}
	s, err := Open(ctx, url)
	if err != nil {
		fail(err)
	}
	job := os.Getenv(killJobEnv)
	if err := s.CreateJob(ctx, pcapJob(job)); err != nil {
		fail(err)
	}
	if _, err := s.StartJob(ctx, job); err != nil {
		fail(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	for i := 0; ; i++ {
		batch := makeAlerts(rng, fmt.Sprintf("%s-%05d", job, i), killBatch, time.Now())
		line := []byte("ok")
		for j := range batch {
			batch[j].Flowguard.Job = job
			line = append(line, ' ')
			line = append(line, batch[j].ID...)
		}
		if err := s.InsertAlerts(ctx, batch); err != nil {
			fail(err)
		}
		// One write of less than PIPE_BUF: the parent reads whole lines.
		if _, err := out.Write(append(line, '\n')); err != nil {
			fail(err)
		}
	}
}

// TestKill kills a process that is inserting alerts with SIGKILL at a
// random moment, several times over one database: every alert whose insert
// had returned is in the store, batches are whole, the job the process was
// running is recovered, and the database opens every time.
func TestKill(t *testing.T) {
	if os.Getenv(killURLEnv) != "" {
		t.Skip("in the helper process")
	}
	forEachBackend(t, func(t *testing.T, newURL func() string) {
		ctx := context.Background()
		url := newURL()
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
		for round := range 5 {
			job := fmt.Sprintf("kill%d", round)
			reported, took := runKilled(t, url, job, 5+rng.IntN(150), time.Duration(rng.IntN(3000))*time.Microsecond)

			s, err := Open(ctx, url)
			if err != nil {
				t.Fatalf("round %d: reopening after the kill: %v", round, err)
			}
			stored := map[string]bool{}
			for _, a := range queryAll(t, s, alert.Filter{Job: job}, MaxLimit) {
				stored[a.ID] = true
			}
			for _, id := range reported {
				if !stored[id] {
					t.Fatalf("round %d: alert %s was committed before the kill and is not in the store", round, id)
				}
			}
			// The batch in flight at the kill is all there or all gone.
			extra := len(stored) - len(reported)
			if extra != 0 && extra != killBatch {
				t.Fatalf("round %d: %d alerts stored beyond the %d reported; want 0 or one whole batch of %d", round, extra, len(reported), killBatch)
			}
			if s.dialect == "sqlite3" {
				var check string
				if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
					t.Fatalf("round %d: integrity check: %s, %v", round, check, err)
				}
			}
			recovered, err := s.RecoverJobs(ctx, FailInterrupted)
			if err != nil || len(recovered) != 1 || recovered[0].ID != job || recovered[0].Error != InterruptedReason {
				t.Fatalf("round %d: recovered %+v, %v; want job %s failed as interrupted", round, recovered, err, job)
			}
			s.Close()
			t.Logf("round %d: killed after %d commits (%d alerts) reported in %v; %d alerts stored (%d committed but unreported)",
				round, len(reported)/killBatch, len(reported), took.Round(time.Millisecond), len(stored), extra)
		}
	})
}

// runKilled runs the helper process until it has reported commits
// commits, waits delay more, kills it with SIGKILL and returns every alert
// ID it reported and how long it ran.
func runKilled(t *testing.T, url, job string, commits int, delay time.Duration) ([]string, time.Duration) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), killURLEnv+"="+url, killJobEnv+"="+job)
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var ids []string
	take := func(line string) {
		f := strings.Fields(line)
		if len(f) != killBatch+1 || f[0] != "ok" {
			t.Fatalf("helper reported %q", line)
		}
		ids = append(ids, f[1:]...)
	}
	timeout := time.After(time.Minute)
	for n := 0; n < commits; n++ {
		select {
		case line, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("helper stopped after %d commits: %s", n, stderr.String())
			}
			take(line)
		case <-timeout:
			cmd.Process.Kill()
			t.Fatalf("helper reported %d commits in a minute: %s", n, stderr.String())
		}
	}
	time.Sleep(delay)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	cmd.Wait()
	for line := range lines { // what it wrote before it died
		take(line)
	}
	return ids, took
}
