package cli

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/decode"
	"github.com/flowguard/flowguard/internal/flowmeter"
)

type flowsOpts struct {
	profile         string
	format          string
	output          string
	flowTimeout     time.Duration
	activityTimeout time.Duration
	ipv4Only        bool
	maxFlows        int
	communityID     bool
	progress        string
	quiet           bool
	workers         int
}

func newFlowsCmd(e *env) *cobra.Command {
	d := flowmeter.DefaultConfig()
	o := &flowsOpts{profile: d.Profile.Name, format: "csv", output: "-", flowTimeout: d.FlowTimeout,
		activityTimeout: d.ActivityTimeout, maxFlows: d.MaxFlows, progress: "auto"}
	cmd := &cobra.Command{
		Use:   "flows [flags] INPUT...",
		Short: "Meter packets from pcap/pcapng files (or - for stdin) into CICFlowMeter-compatible flows",
		Long: `Reads pcap or pcapng captures (optionally gzip-compressed; "-" reads stdin) and
writes one record per bidirectional flow with the CICFlowMeter features of the
chosen profile:

  engelen  the corrected CICFlowMeter fork of Engelen et al. (default)
  cic2017  the CICFlowMeter build that produced CIC-IDS2017 and CSE-CIC-IDS2018

Several inputs are metered as one capture, in the order given. Flows are
written as they end; a summary goes to stderr.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runFlows(cmd, e, o, args) },
	}
	f := cmd.Flags()
	f.StringVar(&o.profile, "profile", o.profile, "reference behaviour: "+strings.Join(profileNames(), "|"))
	f.StringVar(&o.format, "format", o.format, "output format: csv|jsonl|parquet")
	f.StringVarP(&o.output, "output", "o", o.output, `output file ("-" for stdout)`)
	f.DurationVar(&o.flowTimeout, "flow-timeout", o.flowTimeout, "a flow ends this long after its first packet")
	f.DurationVar(&o.activityTimeout, "activity-timeout", o.activityTimeout, "gaps longer than this separate active and idle periods")
	f.BoolVar(&o.ipv4Only, "ipv4-only", false, "skip IPv6 packets, as the reference tools do")
	f.IntVar(&o.maxFlows, "max-flows", o.maxFlows, "flow table capacity; the oldest flow is written early when it is full")
	f.BoolVar(&o.communityID, "community-id", false, "add a Community ID column to CSV output (always present in jsonl and parquet)")
	f.StringVar(&o.progress, "progress", o.progress, "progress bar on stderr: auto (when stderr is a terminal)|always|never")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no summary on stderr")
	f.IntVar(&o.workers, "workers", 1, "flow meters running in parallel (flows sharded by address pair); records are then\nin end order within a shard only")
	return cmd
}

func profileNames() []string {
	names := make([]string, 0, len(flowmeter.Profiles))
	for n := range flowmeter.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func runFlows(cmd *cobra.Command, e *env, o *flowsOpts, inputs []string) error {
	pr, ok := flowmeter.Profiles[o.profile]
	if !ok {
		return fmt.Errorf("unknown profile %q (want one of %s)", o.profile, strings.Join(profileNames(), ", "))
	}
	if !slices.Contains([]string{"csv", "jsonl", "parquet"}, o.format) {
		return fmt.Errorf("unknown format %q (want csv, jsonl or parquet)", o.format)
	}
	if countOf(inputs, "-") > 1 {
		return errors.New(`stdin ("-") can be read only once`)
	}
	if o.flowTimeout <= 0 || o.activityTimeout <= 0 {
		return fmt.Errorf("--flow-timeout and --activity-timeout must be positive (got %v, %v)", o.flowTimeout, o.activityTimeout)
	}
	if o.workers < 1 {
		return fmt.Errorf("--workers %d: want at least 1", o.workers)
	}
	// The writers exist only once the output is open, after the inputs;
	// the meter is built first so that configuration errors come first.
	writers := make([]flowmeter.Writer, o.workers)
	var writeErr error
	var errMu sync.Mutex
	emit := func(shard int, f *flowmeter.Flow) {
		if err := writers[shard].Write(f); err != nil {
			errMu.Lock()
			writeErr = cmp.Or(writeErr, err)
			errMu.Unlock()
		}
	}
	cfg := flowmeter.Config{Profile: pr, FlowTimeout: o.flowTimeout, ActivityTimeout: o.activityTimeout,
		IPv4Only: o.ipv4Only, MaxFlows: o.maxFlows}
	var m flowmeter.Sink
	var err error
	if o.workers == 1 {
		m, err = flowmeter.New(cfg, func(f *flowmeter.Flow) { emit(0, f) })
	} else {
		m, err = flowmeter.NewSharded(cfg, o.workers, emit)
	}
	if err != nil {
		return err
	}
	defer m.Flush() // stops the shard goroutines on early returns

	// Open every input before writing anything, so a typo fails cleanly.
	readers := make([]*capture.Reader, 0, len(inputs))
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	for _, in := range inputs {
		var r *capture.Reader
		var err error
		if in == "-" {
			r, err = capture.NewReader(e.stdin)
			if err != nil {
				err = fmt.Errorf("stdin: %w", err)
			}
		} else {
			r, err = capture.Open(in) // its errors name the file
		}
		if err != nil {
			return err
		}
		readers = append(readers, r)
	}

	out, closeOut, err := openOutput(e.stdout, o.output)
	if err != nil {
		return err
	}
	if o.workers > 1 {
		out = &syncWriter{w: out}
	}
	w, err := flowmeter.NewWriter(out, o.format, pr, o.communityID)
	if err != nil {
		closeOut()
		return err
	}
	shareWriters(w, writers)
	bar := newProgress(e.stderr, o.progress, readers)
	start := time.Now()
	var runErr error
	for i, r := range readers {
		bar.file(i)
		if err := flowmeter.Run(cmd.Context(), r, m); err != nil {
			runErr = fmt.Errorf("%s: %w", inputs[i], err)
			if !errors.Is(err, capture.ErrFormat) {
				break
			}
			// A damaged file ends early; the packets before the damage are
			// metered and the next input still is.
		}
		errMu.Lock()
		failed := writeErr != nil
		errMu.Unlock()
		if failed {
			break
		}
	}
	m.Flush()
	bar.done()
	for _, sw := range writers[1:] { // forks first, the header's writer last
		if err := sw.Close(); err != nil && writeErr == nil {
			writeErr = err
		}
	}
	if err := w.Close(); err != nil && writeErr == nil {
		writeErr = err
	}
	if err := closeOut(); err != nil && writeErr == nil {
		writeErr = err
	}
	if !o.quiet {
		printSummary(e.stderr, m, time.Since(start))
	}
	if writeErr != nil {
		return fmt.Errorf("write %s: %w", o.output, writeErr)
	}
	return runErr
}

func openOutput(stdout io.Writer, path string) (io.Writer, func() error, error) {
	if path == "-" || path == "" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("create output: %w", err)
	}
	return f, f.Close, nil
}

func printSummary(w io.Writer, m flowmeter.Sink, elapsed time.Duration) {
	s := m.Stats()
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	rate := float64(s.Packets) / max(elapsed.Seconds(), 1e-9)
	fmt.Fprintf(bw, "flowguard flows: %d packets in %.2fs (%.0f packets/s): %d metered", s.Packets, elapsed.Seconds(), rate, s.Metered)
	var skipped []string
	for r := decode.OK + 1; int(r) < decode.NumReasons; r++ {
		if n := s.Skipped[r]; n > 0 {
			skipped = append(skipped, fmt.Sprintf("%s %d", r, n))
		}
	}
	if s.IPv6Skipped > 0 {
		skipped = append(skipped, fmt.Sprintf("ipv6 %d", s.IPv6Skipped))
	}
	if len(skipped) > 0 {
		fmt.Fprintf(bw, ", skipped: %s", strings.Join(skipped, ", "))
	}
	fmt.Fprintf(bw, "\n  %d flows written", s.Flows)
	if s.Dropped > 0 {
		fmt.Fprintf(bw, ", %d below the profile's minimum packets not written", s.Dropped)
	}
	fmt.Fprintf(bw, ", %d evicted (table full), at most %d open", s.Evicted, s.MaxOpen)
	if s.Fragments > 0 {
		fmt.Fprintf(bw, ", %d fragments", s.Fragments)
	}
	if n := s.Tunnels[decode.TunnelGRE] + s.Tunnels[decode.TunnelVXLAN] + s.Tunnels[decode.TunnelIPIP]; n > 0 {
		fmt.Fprintf(bw, ", tunnels (metered as outer packets): GRE %d, VXLAN %d, IP-in-IP %d",
			s.Tunnels[decode.TunnelGRE], s.Tunnels[decode.TunnelVXLAN], s.Tunnels[decode.TunnelIPIP])
	}
	if s.OutOfOrder > 0 {
		fmt.Fprintf(bw, ", %d packets out of time order", s.OutOfOrder)
	}
	fmt.Fprintln(bw)
}

// syncWriter serialises Write calls of several shard writers.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// shareWriters gives each shard a writer: w itself and forks of it where
// the format supports forks, else w behind one lock for all of them.
func shareWriters(w flowmeter.Writer, writers []flowmeter.Writer) {
	writers[0] = w
	if len(writers) == 1 {
		return
	}
	f, ok := w.(interface{ Fork() flowmeter.Writer })
	if !ok {
		lw := &lockedWriter{w: w}
		for i := range writers {
			writers[i] = lw
		}
		return
	}
	for i := 1; i < len(writers); i++ {
		writers[i] = f.Fork()
	}
}

// lockedWriter shares one Writer between shards. Close is a no-op: the
// shared writer is closed once, by its owner.
type lockedWriter struct {
	mu sync.Mutex
	w  flowmeter.Writer
}

func (l *lockedWriter) Write(f *flowmeter.Flow) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(f)
}

func (l *lockedWriter) Close() error { return nil }

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}
