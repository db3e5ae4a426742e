package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/flowmeter"
)

// window is one attack step as it ran: flows of the attacker overlapping
// [Start, End] get Label.
type window struct {
	Attacker   netip.Addr
	Start, End time.Time
	Label      string
}

// labelOf returns the label of a flow between a and b active from start to
// end: the label of the first window whose attacker is a or b and whose
// time overlaps the flow's, else BENIGN.
func labelOf(windows []window, a, b netip.Addr, start, end time.Time) string {
	for _, w := range windows {
		if (a == w.Attacker || b == w.Attacker) && !start.After(w.End) && !end.Before(w.Start) {
			return w.Label
		}
	}
	return benignLabel
}

// meterCounts are a metered file's totals.
type meterCounts struct {
	Flows, AttackFlows int
	Packets            int64
}

// meterPcap meters pcap with profile pr into CSV file out, filling the
// Label column from windows, and returns the flows (when keep) and counts.
func meterPcap(ctx context.Context, pcap, out string, pr *flowmeter.Profile, windows []window, keep bool) ([]LabelledFlow, meterCounts, error) {
	var c meterCounts
	r, err := capture.Open(pcap)
	if err != nil {
		return nil, c, err
	}
	defer r.Close()
	f, err := os.Create(out)
	if err != nil {
		return nil, c, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<16)
	w, err := flowmeter.NewCSVWriter(bw, pr, false)
	if err != nil {
		return nil, c, err
	}
	var flows []LabelledFlow
	var werr error
	cfg := flowmeter.DefaultConfig()
	cfg.Profile = pr
	cfg.IPv4Only = true
	m, err := flowmeter.New(cfg, func(fl *flowmeter.Flow) {
		v6 := fl.IsIPv6()
		start, end := time.UnixMicro(fl.Start), time.UnixMicro(fl.LastSeen)
		fl.Label = labelOf(windows, fl.Src.Addr(v6), fl.Dst.Addr(v6), start, end)
		c.Flows++
		if fl.Label != benignLabel {
			c.AttackFlows++
		}
		if keep {
			flows = append(flows, LabelledFlow{CommunityID: string(fl.AppendCommunityID(nil)),
				Start: start, End: end, Label: fl.Label})
		}
		if werr == nil {
			werr = w.Write(fl)
		}
	})
	if err != nil {
		return nil, c, err
	}
	runErr := flowmeter.Run(ctx, r, m)
	m.Flush()
	c.Packets = m.Stats().Packets
	// A capture cut short mid-record (tcpdump killed) keeps what came before.
	if runErr != nil && !errors.Is(runErr, capture.ErrFormat) {
		return nil, c, fmt.Errorf("%s: %w", pcap, runErr)
	}
	if werr == nil {
		werr = w.Close()
	}
	if werr == nil {
		werr = bw.Flush()
	}
	if werr == nil {
		werr = f.Close()
	}
	if werr != nil {
		return nil, c, fmt.Errorf("write %s: %w", out, werr)
	}
	return flows, c, nil
}
