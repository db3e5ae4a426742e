package server

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/detect"
	"github.com/flowguard/flowguard/internal/flowmeter"
	"github.com/flowguard/flowguard/internal/store"
)

// jobs runs pcap uploads: each is spooled to disk with its hash before it
// is accepted, so a job survives the process: on start, jobs an earlier
// process left running are requeued (store.RecoverJobs) and rerun from
// the spooled file. A rerun makes the same alert IDs (job ID and the
// alert's ordinal: metering a file is deterministic), and the store skips
// IDs it has, so no alert is lost or duplicated.
type jobs struct {
	s     *Server
	dir   string
	fan   *alert.Fanout
	queue chan string
	wg    sync.WaitGroup
	busy  atomic.Int64
}

const jobQueue = 4096

func newJobs(s *Server) *jobs {
	return &jobs{s: s, dir: filepath.Join(s.cfg.SpoolDir, "jobs"), queue: make(chan string, jobQueue)}
}

// start recovers interrupted jobs, queues the waiting ones (oldest first)
// and starts the workers.
func (j *jobs) start(ctx context.Context) error {
	if err := os.MkdirAll(j.dir, 0o750); err != nil {
		return fmt.Errorf("server: job spool: %w", err)
	}
	rec, err := j.s.store.RecoverJobs(ctx, store.Requeue)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	for _, jb := range rec {
		j.s.log.Warn("recovered interrupted job", "job", jb.ID, "state", jb.State, "attempts", jb.Attempts, "error", jb.Error)
	}
	var waiting []string
	for p := (store.Page{Limit: store.MaxLimit}); ; {
		js, next, err := j.s.store.ListJobs(ctx, store.Queued, p)
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		for _, jb := range js {
			waiting = append(waiting, jb.ID)
		}
		if next == "" {
			break
		}
		p.Cursor = next
	}
	for i := len(waiting) - 1; i >= 0; i-- {
		select {
		case j.queue <- waiting[i]:
		default:
			j.s.log.Warn("job queue full at start; job stays queued for the next start", "job", waiting[i])
		}
	}
	for range j.s.cfg.Workers {
		j.wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case id := <-j.queue:
					j.busy.Add(1)
					j.run(ctx, id)
					j.busy.Add(-1)
				}
			}
		})
	}
	return nil
}

// drain waits for running jobs until ctx ends, then cancels them: a
// cancelled job stays running in the store, and the next start resumes it.
func (j *jobs) drain(ctx context.Context, cancel context.CancelFunc) {
	done := make(chan struct{})
	go func() { j.wg.Wait(); close(done) }()
	// Idle workers stop at once; busy ones finish their job first.
	stopIdle := time.NewTicker(20 * time.Millisecond)
	defer stopIdle.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			cancel()
			<-done
			return
		case <-stopIdle.C:
			if j.busy.Load() == 0 {
				cancel()
			}
		}
	}
}

func (j *jobs) spoolPath(id string) string { return filepath.Join(j.dir, id+".pcap") }
func (j *jobs) flowsPath(id string) string { return filepath.Join(j.dir, id+".flows.jsonl") }

// fail ends a job with a reason.
func (j *jobs) fail(ctx context.Context, id, reason string) {
	_, err := j.s.store.UpdateJob(ctx, id, func(jb *store.Job) error {
		jb.State, jb.Error = store.Failed, reason
		return nil
	})
	if err != nil {
		j.s.log.Error("mark job failed", "job", id, "err", err)
	}
	j.s.metrics.jobs.WithLabelValues("failed").Inc()
	j.s.log.Warn("job failed", "job", id, "reason", reason)
}

// run processes one job: capture → flow meter (the model's profile) →
// scoring → flows file and alerts.
func (j *jobs) run(ctx context.Context, id string) {
	jb, err := j.s.store.StartJob(ctx, id)
	if err != nil {
		if !errors.Is(err, store.ErrConflict) {
			j.s.log.Error("start job", "job", id, "err", err)
		}
		return
	}
	l := j.s.models.current()
	if jb.Model != "" && jb.Model != l.id {
		// A resumed job keeps its model, so it makes the same alerts.
		if rec, err := j.s.store.GetModel(ctx, jb.Model); err == nil {
			if m, err := j.s.models.load(rec); err == nil {
				l = m
			}
		}
	}
	if l.profile == nil {
		j.fail(ctx, id, fmt.Sprintf("model %s reads %q features, which no flow-meter profile computes", l.id, l.art.Schema.Profile))
		return
	}
	r, err := capture.Open(jb.Input.Path)
	if err != nil {
		j.fail(ctx, id, "spooled upload unusable: "+err.Error())
		return
	}
	defer r.Close()
	ff, err := os.Create(j.flowsPath(id))
	if err != nil {
		j.fail(ctx, id, "flows file: "+err.Error())
		return
	}
	defer ff.Close()
	fw := bufio.NewWriterSize(ff, 256<<10)

	sink := &jobSink{s: j.s, fan: j.fan, job: id}
	d, err := detect.New(detect.Config{Model: l.art, ModelName: l.id, Profile: l.profile,
		Source: "upload:" + jb.Input.Name, Job: id, Batch: 32, Anomaly: j.s.cfg.AnomalyModel, AnomalyName: j.s.cfg.AnomalyModelName}, sink)
	if err != nil {
		j.fail(ctx, id, err.Error())
		return
	}
	sc, err := detect.NewScorer(l.art, l.profile)
	if err != nil {
		j.fail(ctx, id, err.Error())
		return
	}
	var (
		flows   int64
		line    []byte
		last    = time.Now()
		m       *flowmeter.Meter
		classes = l.art.Schema.Classes
	)
	progress := func(final bool) {
		st := m.Stats()
		_, err := j.s.store.UpdateJob(ctx, id, func(jb *store.Job) error {
			jb.Model, jb.Packets, jb.Flows, jb.Alerts = l.id, st.Packets, flows, d.Stats.Alerts.Load()
			if size := r.Size(); size > 0 && !final {
				jb.Progress = min(float64(r.Offset())/float64(size), 0.99)
			}
			return nil
		})
		if err != nil && ctx.Err() == nil {
			j.s.log.Warn("job progress", "job", id, "err", err)
		}
	}
	m, err = flowmeter.New(flowmeter.Config{Profile: l.profile}, func(f *flowmeter.Flow) {
		d.Flow(ctx, f)
		v := sc.Score(f)
		flows++
		line = appendFlow(line[:0], f, classes[v.Class], v)
		fw.Write(line)
		if flows&255 == 0 && time.Since(last) > 500*time.Millisecond {
			last = time.Now()
			progress(false)
		}
	})
	if err != nil {
		j.fail(ctx, id, err.Error())
		return
	}
	runErr := flowmeter.Run(ctx, r, m)
	if ctx.Err() != nil {
		// Shutting down: the job stays running and is resumed at the
		// next start.
		return
	}
	m.Flush()
	sendErr := d.Flush(ctx)
	j.s.metrics.flowsScored.WithLabelValues("job").Add(float64(flows))
	ferr := fw.Flush()
	if ferr == nil {
		ferr = ff.Sync()
	}
	progress(true)
	switch {
	case sendErr != nil:
		j.fail(ctx, id, "storing alerts failed: "+sendErr.Error())
	case runErr != nil:
		j.fail(ctx, id, "capture: "+runErr.Error())
	case ferr != nil:
		j.fail(ctx, id, "flows file: "+ferr.Error())
	default:
		_, err := j.s.store.UpdateJob(ctx, id, func(jb *store.Job) error {
			jb.State, jb.Progress = store.Done, 1
			return nil
		})
		if err != nil {
			j.s.log.Error("finish job", "job", id, "err", err)
			return
		}
		j.s.metrics.jobs.WithLabelValues("done").Inc()
		j.s.log.Info("job done", "job", id, "flows", flows, "alerts", d.Stats.Alerts.Load())
	}
}

// jobSink gives a job's alerts deterministic IDs (live capture's keep
// theirs), stores them, and only
// then hands them to the live and file sinks: an alert a client saw on a
// stream or webhook is always in the store, even if the process is killed
// right after.
type jobSink struct {
	s   *Server
	fan *alert.Fanout
	job string
	seq int64
}

func (k *jobSink) Send(ctx context.Context, as []alert.Alert) error {
	for i := range as {
		if k.job == "" {
			break // live capture: the detector's IDs are unique already
		}
		k.seq++
		as[i].ID = fmt.Sprintf("%s-%08d", k.job, k.seq)
	}
	var err error
	for attempt := range 3 {
		if err = k.s.store.InsertAlerts(ctx, as); err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	for i := range as {
		k.s.metrics.alerts.WithLabelValues(as[i].Flowguard.Class).Inc()
	}
	if k.fan != nil {
		// Best effort: the lossy routes drop rather than stall the job.
		k.fan.Send(ctx, as)
	}
	return nil
}

// appendFlow writes one line of a job's flows file.
func appendFlow(b []byte, f *flowmeter.Flow, class string, v detect.Verdict) []byte {
	v6 := f.IsIPv6()
	b = append(b, `{"community_id":"`...)
	b = f.AppendCommunityID(b)
	b = append(b, `","src_ip":"`...)
	b = f.Src.Addr(v6).AppendTo(b)
	b = append(b, `","src_port":`...)
	b = strconv.AppendUint(b, uint64(f.SrcPort), 10)
	b = append(b, `,"dest_ip":"`...)
	b = f.Dst.Addr(v6).AppendTo(b)
	b = append(b, `","dest_port":`...)
	b = strconv.AppendUint(b, uint64(f.DstPort), 10)
	b = append(b, `,"proto":"`...)
	b = append(b, alert.ProtoName(f.Proto)...)
	b = append(b, `","start":"`...)
	b = time.UnixMicro(f.Start).UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","end":"`...)
	b = time.UnixMicro(f.LastSeen).UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","packets":`...)
	b = strconv.AppendInt(b, f.Packets(), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, f.Bytes(), 10)
	b = append(b, `,"class":`...)
	b = strconv.AppendQuote(b, class)
	b = append(b, `,"probability":`...)
	b = strconv.AppendFloat(b, v.Prob, 'g', 6, 64)
	b = append(b, `,"score":`...)
	b = strconv.AppendFloat(b, v.Score, 'g', 6, 64)
	b = append(b, `,"alert":`...)
	b = strconv.AppendBool(b, v.Alert)
	return append(b, "}\n"...)
}

var pcapTypes = map[string]bool{"": true, "application/octet-stream": true, "application/vnd.tcpdump.pcap": true,
	"application/pcap": true, "application/x-pcap": true, "application/x-pcapng": true, "application/gzip": true}

// JobInfo is a job as the API shows it (without server paths).
type JobInfo struct {
	ID       string    `json:"id"`
	State    string    `json:"state" enum:"queued,running,done,failed"`
	Created  time.Time `json:"created"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Name     string    `json:"name,omitempty" doc:"the upload's name (?name=)"`
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256"`
	Model    string    `json:"model,omitempty"`
	Progress float64   `json:"progress"`
	Packets  int64     `json:"packets"`
	Flows    int64     `json:"flows"`
	Alerts   int64     `json:"alerts"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error,omitempty"`
}

func jobInfo(jb store.Job) JobInfo {
	return JobInfo{ID: jb.ID, State: string(jb.State), Created: jb.Created, Started: jb.Started, Finished: jb.Finished,
		Name: jb.Input.Name, Size: jb.Input.Size, SHA256: jb.Input.SHA256, Model: jb.Model, Progress: jb.Progress,
		Packets: jb.Packets, Flows: jb.Flows, Alerts: jb.Alerts, Attempts: jb.Attempts, Error: jb.Error}
}

var safeName = regexp.MustCompile(`^[\w.\- ]{0,200}$`)

// uploadPcap is POST /v1/jobs/pcap: the body is the capture (pcap or
// pcapng, optionally gzip), streamed to the spool with its SHA-256 and
// checked record by record before the job is accepted, so a truncated or
// non-pcap upload is answered now with the byte offset at fault.
func (s *Server) uploadPcap(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !pcapTypes[mt] {
			writeProblem(w, problem(http.StatusUnsupportedMediaType, "send the capture file itself as the body (application/vnd.tcpdump.pcap or application/octet-stream), not "+ct,
				at("header.Content-Type", "unsupported")))
			return
		}
	}
	name := r.URL.Query().Get("name")
	if !safeName.MatchString(name) {
		writeProblem(w, problem(http.StatusBadRequest, "bad upload name", at("query.name", "letters, digits, space, . _ - only, at most 200")))
		return
	}
	if len(s.jobs.queue) >= jobQueue {
		w.Header().Set("Retry-After", "30")
		writeProblem(w, problem(http.StatusServiceUnavailable, "the job queue is full; retry later"))
		return
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	id := "j-" + hex.EncodeToString(rnd[:])
	path := s.jobs.spoolPath(id)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		s.fail(w, err)
		return
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), http.MaxBytesReader(w, r.Body, s.cfg.MaxPcapBytes))
	if err == nil {
		// On disk before the job exists: a resumed job must find it whole.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeProblem(w, problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("capture exceeds the limit of %d bytes", mb.Limit),
				at(fmt.Sprintf("body@%d", mb.Limit), "too large")))
			return
		}
		writeProblem(w, bodyReadError(err, n))
		return
	}
	if n == 0 {
		os.Remove(path)
		writeProblem(w, problem(http.StatusBadRequest, "empty body: send a pcap or pcapng file", at("body", "empty")))
		return
	}
	if p := checkCapture(path); p != nil {
		os.Remove(path)
		writeProblem(w, p)
		return
	}
	jb := store.Job{ID: id, Kind: "pcap", Model: s.models.current().id,
		Input: store.Input{Path: path, Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}}
	if err := s.store.CreateJob(r.Context(), jb); err != nil {
		os.Remove(path)
		s.fail(w, err)
		return
	}
	select {
	case s.jobs.queue <- id:
	default: // the next start runs it
	}
	if jb, err = s.store.GetJob(r.Context(), id); err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Location", "/v1/jobs/"+id)
	writeJSON(w, http.StatusAccepted, jobInfo(jb))
}

var offsetRE = regexp.MustCompile(`offset (\d+)`)

// checkCapture reads every record of the spooled file without decoding:
// cheap next to metering, and it turns a bad upload into a 400 now
// instead of a failed job later.
func checkCapture(path string) *problemError {
	r, err := capture.Open(path)
	if err == nil {
		defer r.Close()
		var p capture.Packet
		for err == nil {
			err = r.Next(&p)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
	loc := "body"
	if m := offsetRE.FindStringSubmatch(err.Error()); m != nil {
		loc = "body@" + m[1]
	}
	return problem(http.StatusBadRequest, "not a valid pcap or pcapng capture: "+err.Error(), at(loc, "bad capture"))
}

type jobIDIn struct {
	ID string `path:"id" maxLength:"64" doc:"job ID"`
}

type jobOut struct {
	Body JobInfo
}

func (s *Server) getJob(ctx context.Context, in *jobIDIn) (*jobOut, error) {
	jb, err := s.store.GetJob(ctx, in.ID)
	if err != nil {
		return nil, s.notFoundOr(err, "job", in.ID)
	}
	return &jobOut{Body: jobInfo(jb)}, nil
}

type jobFlowsIn struct {
	ID     string `path:"id" maxLength:"64" doc:"job ID"`
	Offset int    `query:"offset" minimum:"0" doc:"flows to skip"`
	Limit  int    `query:"limit" minimum:"0" maximum:"10000" default:"1000" doc:"flows at most"`
}

type jobFlowsOut struct {
	Body struct {
		Flows      []json.RawMessage `json:"flows" doc:"flows in the order they ended, with the model's verdict"`
		NextOffset int               `json:"next_offset,omitempty" doc:"offset of the next page; absent after the last"`
	}
}

func (s *Server) getJobFlows(ctx context.Context, in *jobFlowsIn) (*jobFlowsOut, error) {
	if _, err := s.store.GetJob(ctx, in.ID); err != nil {
		return nil, s.notFoundOr(err, "job", in.ID)
	}
	out := &jobFlowsOut{}
	out.Body.Flows = []json.RawMessage{}
	f, err := os.Open(s.jobs.flowsPath(in.ID))
	if errors.Is(err, os.ErrNotExist) {
		return out, nil // not started yet
	}
	if err != nil {
		return nil, s.internal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	limit := in.Limit
	if limit == 0 {
		limit = 1000
	}
	for i := 0; sc.Scan(); i++ {
		if i < in.Offset {
			continue
		}
		if len(out.Body.Flows) == limit {
			out.Body.NextOffset = i
			break
		}
		line := sc.Bytes()
		if !json.Valid(line) {
			break // a line the running job is still writing
		}
		out.Body.Flows = append(out.Body.Flows, append(json.RawMessage(nil), line...))
	}
	return out, nil
}
