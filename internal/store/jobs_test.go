package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func pcapJob(id string) Job {
	return Job{ID: id, Kind: "pcap", Model: "rf-1",
		Input: Input{Path: "/var/lib/flowguard/uploads/" + id + ".pcap", Name: "capture.pcap", Size: 1 << 20, SHA256: "ab12"}}
}

func TestJobsLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newURL func() string) {
		ctx := context.Background()
		s := openT(t, newURL())
		if err := s.CreateJob(ctx, pcapJob("j1")); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateJob(ctx, pcapJob("j1")); !errors.Is(err, ErrExists) {
			t.Fatalf("creating a job twice: %v; want ErrExists", err)
		}
		if err := s.CreateJob(ctx, Job{ID: "x", Kind: "pcap", State: Running}); err == nil {
			t.Fatal("created a job that is already running")
		}
		j, err := s.GetJob(ctx, "j1")
		if err != nil || j.State != Queued || j.Created.IsZero() || j.Input != pcapJob("j1").Input || j.Model != "rf-1" {
			t.Fatalf("new job = %+v, %v", j, err)
		}
		if _, err := s.GetJob(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown job: %v; want ErrNotFound", err)
		}

		j, err = s.StartJob(ctx, "j1")
		if err != nil || j.State != Running || j.Started.IsZero() || j.Attempts != 1 {
			t.Fatalf("started job = %+v, %v", j, err)
		}
		if _, err := s.StartJob(ctx, "j1"); !errors.Is(err, ErrConflict) {
			t.Fatalf("starting a running job: %v; want ErrConflict", err)
		}
		j, err = s.UpdateJob(ctx, "j1", func(j *Job) error {
			j.Progress, j.Packets, j.Flows, j.Alerts = 0.5, 1000, 40, 3
			return nil
		})
		if err != nil || j.Progress != 0.5 || j.Packets != 1000 {
			t.Fatalf("progress update = %+v, %v", j, err)
		}
		j, err = s.UpdateJob(ctx, "j1", func(j *Job) error { j.State, j.Progress = Done, 1; return nil })
		if err != nil || j.Finished.IsZero() || j.Finished.Before(j.Started) {
			t.Fatalf("finished job = %+v, %v", j, err)
		}
		if got, _ := s.GetJob(ctx, "j1"); got != j {
			t.Fatalf("stored job\n%+v\ndiffers from the returned one\n%+v", got, j)
		}
		if _, err := s.UpdateJob(ctx, "j1", func(j *Job) error { j.Alerts++; return nil }); !errors.Is(err, ErrConflict) {
			t.Fatalf("changing a finished job: %v; want ErrConflict", err)
		}
		if _, err := s.UpdateJob(ctx, "j1", func(j *Job) error { return nil }); err != nil {
			t.Fatalf("a no-op update of a finished job: %v", err)
		}
		stop := errors.New("caller's reason")
		if _, err := s.UpdateJob(ctx, "j1", func(j *Job) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("fn's error: %v; want it passed through", err)
		}

		if err := s.CreateJob(ctx, pcapJob("j2")); err != nil {
			t.Fatal(err)
		}
		for _, to := range []JobState{Done, "paused"} {
			if _, err := s.UpdateJob(ctx, "j2", func(j *Job) error { j.State = to; return nil }); !errors.Is(err, ErrConflict) {
				t.Fatalf("queued → %s: %v; want ErrConflict", to, err)
			}
		}
		if _, err := s.UpdateJob(ctx, "j2", func(j *Job) error { j.Input.Path = "/etc/passwd"; return nil }); !errors.Is(err, ErrConflict) {
			t.Fatalf("changing a job's input: %v; want ErrConflict", err)
		}
		// A failure's reason may quote bytes from the input.
		j, err = s.UpdateJob(ctx, "j2", func(j *Job) error { j.State, j.Error = Failed, "pcap: bad magic \xd4\xc3"; return nil })
		if err != nil || j.Error != "pcap: bad magic \ufffd\ufffd" {
			t.Fatalf("failing with a reason that is not UTF-8: %+v, %v", j, err)
		}
	})
}

func TestJobsList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newURL func() string) {
		ctx := context.Background()
		s := openT(t, newURL())
		base := time.Now()
		var want []string
		for i := range 25 {
			j := pcapJob(fmt.Sprintf("j%02d", i))
			j.Created = base.Add(time.Duration(i/2) * time.Second) // pairs share a creation time
			if err := s.CreateJob(ctx, j); err != nil {
				t.Fatal(err)
			}
			if i%3 == 0 {
				if _, err := s.StartJob(ctx, j.ID); err != nil {
					t.Fatal(err)
				}
				want = append(want, j.ID)
			}
		}
		slices.Reverse(want)
		list := func(state JobState) []string {
			var got []string
			for p := (Page{Limit: 4}); ; {
				jobs, next, err := s.ListJobs(ctx, state, p)
				if err != nil {
					t.Fatal(err)
				}
				for _, j := range jobs {
					got = append(got, j.ID)
				}
				if next == "" {
					return got
				}
				p.Cursor = next
			}
		}
		if got := list(Running); !slices.Equal(got, want) {
			t.Fatalf("running jobs %v; want %v", got, want)
		}
		if got := list(""); len(got) != 25 || got[0] != "j24" || got[24] != "j00" {
			t.Fatalf("all jobs %v", got)
		}
	})
}

func TestJobsConcurrentUpdates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newURL func() string) {
		ctx := context.Background()
		s := openT(t, newURL())
		if err := s.CreateJob(ctx, pcapJob("j")); err != nil {
			t.Fatal(err)
		}
		// Several workers race to claim the job: exactly one gets it.
		var claimed atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.StartJob(ctx, "j")
				switch {
				case err == nil:
					claimed.Add(1)
				case !errors.Is(err, ErrConflict):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if claimed.Load() != 1 {
			t.Fatalf("%d workers claimed the job; want 1", claimed.Load())
		}
		// Concurrent read-modify-write updates lose nothing.
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 25 {
					if _, err := s.UpdateJob(ctx, "j", func(j *Job) error { j.Packets++; return nil }); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if j, err := s.GetJob(ctx, "j"); err != nil || j.Packets != 200 || j.Attempts != 1 {
			t.Fatalf("after 200 concurrent increments: %+v, %v", j, err)
		}
	})
}

// TestJobsRecovery leaves jobs running as a crashed process would (the
// store is closed with the job unfinished) and recovers them on reopening.
func TestJobsRecovery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newURL func() string) {
		ctx := context.Background()
		url := newURL()
		crash := func(setup func(s *Store)) *Store {
			s, err := Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			setup(s)
			s.Close()
			return openT(t, url)
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		s := crash(func(s *Store) {
			for _, id := range []string{"queued", "running", "done"} {
				must(s.CreateJob(ctx, pcapJob(id)))
			}
			for _, id := range []string{"running", "done"} {
				_, err := s.StartJob(ctx, id)
				must(err)
			}
			_, err := s.UpdateJob(ctx, "done", func(j *Job) error { j.State = Done; return nil })
			must(err)
		})
		got, err := s.RecoverJobs(ctx, FailInterrupted)
		must(err)
		if len(got) != 1 || got[0].ID != "running" || got[0].State != Failed || got[0].Error != InterruptedReason || got[0].Finished.IsZero() {
			t.Fatalf("recovered %+v; want job running failed with %q", got, InterruptedReason)
		}
		for id, want := range map[string]JobState{"queued": Queued, "running": Failed, "done": Done} {
			if j, err := s.GetJob(ctx, id); err != nil || j.State != want {
				t.Fatalf("job %s after recovery: %+v, %v; want %s", id, j, err, want)
			}
		}
		if got, err := s.RecoverJobs(ctx, FailInterrupted); err != nil || len(got) != 0 {
			t.Fatalf("recovering again: %+v, %v; want nothing", got, err)
		}

		// Requeued, a job runs again, until it has been started MaxAttempts
		// times.
		must(s.CreateJob(ctx, pcapJob("poison")))
		for attempt := 1; ; attempt++ {
			s = crash(func(s *Store) {
				_, err := s.StartJob(ctx, "poison")
				must(err)
				_, err = s.UpdateJob(ctx, "poison", func(j *Job) error { j.Progress, j.Packets = 0.3, 99; return nil })
				must(err)
			})
			got, err := s.RecoverJobs(ctx, Requeue)
			must(err)
			if len(got) != 1 {
				t.Fatalf("attempt %d: recovered %+v", attempt, got)
			}
			j := got[0]
			if attempt == MaxAttempts {
				want := fmt.Sprintf("%s (%d attempts)", InterruptedReason, MaxAttempts)
				if j.State != Failed || j.Error != want {
					t.Fatalf("after %d attempts: %+v; want failed with %q", attempt, j, want)
				}
				break
			}
			if j.State != Queued || j.Attempts != attempt || j.Progress != 0 || j.Packets != 0 || !j.Started.IsZero() || j.Error != "" {
				t.Fatalf("attempt %d requeued as %+v", attempt, j)
			}
		}
	})
}
