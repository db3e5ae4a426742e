package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// JobState is where a job is in its life.
type JobState string

// Job states. Done and Failed are final.
const (
	Queued  JobState = "queued"
	Running JobState = "running"
	Done    JobState = "done"
	Failed  JobState = "failed"
)

// InterruptedReason is the error of a job whose process stopped while it
// ran.
const InterruptedReason = "interrupted: server stopped during the job"

// MaxAttempts is how often RecoverJobs lets a job start before failing it:
// a pcap that kills the server each time must not do so forever.
const MaxAttempts = 3

// Job is an asynchronous piece of work, such as analysing an uploaded pcap.
// Its results are its counters and the alerts stored with its ID.
type Job struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"` // "pcap"
	State    JobState  `json:"state"`
	Created  time.Time `json:"created"`
	Started  time.Time `json:"started,omitzero"`  // set when the current attempt started
	Finished time.Time `json:"finished,omitzero"` // set when the job reached Done or Failed
	Input    Input     `json:"input"`
	Model    string    `json:"model,omitempty"` // ID of the model the job uses
	Progress float64   `json:"progress"`        // 0 to 1
	Packets  int64     `json:"packets"`
	Flows    int64     `json:"flows"`
	Alerts   int64     `json:"alerts"`
	Attempts int       `json:"attempts"` // times the job was started
	Error    string    `json:"error,omitempty"`
}

// Input is the file a job reads.
type Input struct {
	Path   string `json:"path"`
	Name   string `json:"name,omitempty"` // as uploaded
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

const jobCols = "id, kind, state, created_ns, started_ns, finished_ns, input_path, input_name, input_size, input_sha256, " +
	"model, progress, packets, flows, alerts, attempts, error, rev"

// CreateJob stores a new, queued job, created now unless j.Created says
// otherwise. An ID already used is ErrExists.
func (s *Store) CreateJob(ctx context.Context, j Job) error {
	if j.ID == "" || j.Kind == "" || (j.State != "" && j.State != Queued) {
		return fmt.Errorf("store: create job %q: a new job needs an ID and a kind, and is queued", j.ID)
	}
	j.State = Queued
	j.ID, j.Kind, j.Model, j.Error = text(j.ID), text(j.Kind), text(j.Model), text(j.Error)
	j.Input.Path, j.Input.Name, j.Input.SHA256 = text(j.Input.Path), text(j.Input.Name), text(j.Input.SHA256)
	if j.Created.IsZero() {
		j.Created = now()
	}
	res, err := s.conn().exec(ctx, "INSERT INTO jobs ("+jobCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"+
		" ON CONFLICT (id) DO NOTHING", jobArgs(&j)...)
	if err == nil {
		err = affected(res)
	}
	if errors.Is(err, ErrNotFound) {
		err = ErrExists
	}
	if err != nil {
		return fmt.Errorf("store: create job %s: %w", j.ID, err)
	}
	return nil
}

func jobArgs(j *Job) []any {
	return []any{j.ID, j.Kind, string(j.State), nanos(j.Created), nanos(j.Started), nanos(j.Finished),
		j.Input.Path, j.Input.Name, j.Input.Size, j.Input.SHA256,
		j.Model, j.Progress, j.Packets, j.Flows, j.Alerts, j.Attempts, j.Error}
}

// affected is ErrNotFound when res changed no row.
func affected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

func scanJob(sc interface{ Scan(...any) error }) (j Job, rev int64, err error) {
	var created, started, finished int64
	var state string
	err = sc.Scan(&j.ID, &j.Kind, &state, &created, &started, &finished,
		&j.Input.Path, &j.Input.Name, &j.Input.Size, &j.Input.SHA256,
		&j.Model, &j.Progress, &j.Packets, &j.Flows, &j.Alerts, &j.Attempts, &j.Error, &rev)
	j.State = JobState(state)
	j.Created, j.Started, j.Finished = fromNanos(created), fromNanos(started), fromNanos(finished)
	return j, rev, err
}

// GetJob returns the job with the given ID.
func (s *Store) GetJob(ctx context.Context, id string) (Job, error) {
	j, _, err := s.getJob(ctx, id)
	if err != nil {
		return Job{}, fmt.Errorf("store: job %s: %w", id, err)
	}
	return j, nil
}

func (s *Store) getJob(ctx context.Context, id string) (Job, int64, error) {
	j, rev, err := scanJob(s.conn().queryRow(ctx, "SELECT "+jobCols+" FROM jobs WHERE id = ?", text(id)))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	return j, rev, err
}

// ListJobs returns one page of the jobs in the given state (any state if
// ""), newest first, and the cursor of the next page.
func (s *Store) ListJobs(ctx context.Context, state JobState, p Page) ([]Job, string, error) {
	b := branch{}
	if state != "" {
		b = b.and("state = ?", string(state))
	}
	jobs, next, err := queryPage(ctx, s.conn(), "SELECT "+jobCols+" FROM jobs", "created_ns", []branch{b}, p,
		func(rows *sql.Rows) (Job, cursor, error) {
			j, _, err := scanJob(rows)
			return j, cursor{nanos(j.Created), j.ID}, err
		})
	if err != nil {
		return nil, "", fmt.Errorf("store: list jobs: %w", err)
	}
	return jobs, next, nil
}

// UpdateJob changes a job with fn and returns it as stored. fn may be
// called more than once: when another update lands between the read and
// the write, fn runs again on the newer job, so no update is lost. A job
// entering Running gets Started and one more attempt, one entering Done or
// Failed gets Finished. A finished job cannot change (ErrConflict), and
// states only move forward.
func (s *Store) UpdateJob(ctx context.Context, id string, fn func(*Job) error) (Job, error) {
	j, err := s.updateJob(ctx, id, fn, false)
	if err != nil {
		return Job{}, fmt.Errorf("store: update job %s: %w", id, err)
	}
	return j, nil
}

// StartJob claims a queued job for the caller: it becomes Running. A job
// that is not queued (another worker claimed it, or it ended) is
// ErrConflict.
func (s *Store) StartJob(ctx context.Context, id string) (Job, error) {
	j, err := s.updateJob(ctx, id, func(j *Job) error {
		if j.State != Queued {
			return fmt.Errorf("%w: job is %s, not queued", ErrConflict, j.State)
		}
		j.State = Running
		return nil
	}, false)
	if err != nil {
		return Job{}, fmt.Errorf("store: start job %s: %w", id, err)
	}
	return j, nil
}

// transitions lists the states a job may move to from each state; requeue
// adds Running → Queued, which only recovery does.
var transitions = map[JobState][]JobState{
	Queued:  {Queued, Running, Failed},
	Running: {Running, Done, Failed},
}

func (s *Store) updateJob(ctx context.Context, id string, fn func(*Job) error, requeue bool) (Job, error) {
	for {
		old, rev, err := s.getJob(ctx, id)
		if err != nil {
			return Job{}, err
		}
		j := old
		if err := fn(&j); err != nil {
			return Job{}, err
		}
		j.Model, j.Error = text(j.Model), text(j.Error) // an error may quote anything
		if j == old {
			return j, nil
		}
		if err := checkUpdate(&old, &j, requeue); err != nil {
			return Job{}, err
		}
		if j.State != old.State {
			switch j.State {
			case Running:
				j.Started = now()
				j.Attempts++
			case Done, Failed:
				j.Finished = now()
			}
		}
		res, err := s.conn().exec(ctx, "UPDATE jobs SET state = ?, started_ns = ?, finished_ns = ?, model = ?, "+
			"progress = ?, packets = ?, flows = ?, alerts = ?, attempts = ?, error = ?, rev = rev + 1 "+
			"WHERE id = ? AND rev = ?",
			string(j.State), nanos(j.Started), nanos(j.Finished), j.Model,
			j.Progress, j.Packets, j.Flows, j.Alerts, j.Attempts, j.Error, old.ID, rev)
		if err == nil {
			err = affected(res)
		}
		switch {
		case err == nil:
			return j, nil
		case !errors.Is(err, ErrNotFound):
			return Job{}, err
		}
		// Another update came first; go again on what it wrote.
	}
}

func checkUpdate(old, j *Job, requeue bool) error {
	next, open := transitions[old.State]
	switch {
	case !open:
		return fmt.Errorf("%w: the job is %s, which is final", ErrConflict, old.State)
	case j.ID != old.ID || j.Kind != old.Kind || !j.Created.Equal(old.Created) || j.Input != old.Input:
		return fmt.Errorf("%w: a job's ID, kind, creation time and input do not change", ErrConflict)
	case slices.Contains(next, j.State), requeue && old.State == Running && j.State == Queued:
		return nil
	}
	return fmt.Errorf("%w: the job is %s and cannot become %q", ErrConflict, old.State, j.State)
}

// Recovery says what RecoverJobs does with a job an earlier process left
// running.
type Recovery int

const (
	// FailInterrupted fails the job with InterruptedReason.
	FailInterrupted Recovery = iota
	// Requeue puts the job back in the queue to run again from the start,
	// unless it has been started MaxAttempts times: then it fails.
	Requeue
)

// RecoverJobs deals with the jobs an earlier process left running, as how
// says, and returns them as they are now. Call it once at startup, before
// running any job.
func (s *Store) RecoverJobs(ctx context.Context, how Recovery) ([]Job, error) {
	var stale []Job
	for p := (Page{Limit: MaxLimit}); ; {
		jobs, next, err := s.ListJobs(ctx, Running, p)
		if err != nil {
			return nil, fmt.Errorf("store: recover jobs: %w", err)
		}
		stale = append(stale, jobs...)
		if next == "" {
			break
		}
		p.Cursor = next
	}
	out := stale[:0]
	for _, j := range stale {
		j, err := s.updateJob(ctx, j.ID, func(j *Job) error {
			switch {
			case j.State != Running: // finished meanwhile: not ours to change
			case how == Requeue && j.Attempts < MaxAttempts:
				*j = Job{ID: j.ID, Kind: j.Kind, State: Queued, Created: j.Created, Input: j.Input, Model: j.Model, Attempts: j.Attempts}
			default:
				j.State, j.Error = Failed, InterruptedReason
				if how == Requeue {
					j.Error += fmt.Sprintf(" (%d attempts)", j.Attempts)
				}
			}
			return nil
		}, true)
		if err != nil {
			return nil, fmt.Errorf("store: recover job %s: %w", j.ID, err)
		}
		out = append(out, j)
	}
	return out, nil
}
