package flowmeter

import "github.com/flowguard/flowguard/internal/decode"

// CIC2017 reproduces ahlashkari/CICFlowMeter at 50d668d (2018-03-07), the code
// that produced CIC-IDS2017 and CSE-CIC-IDS2018, quirks included.
var CIC2017 = &Profile{
	Name:                     "cic2017",
	FINEndsFlow:              true,
	MinPackets:               2,
	SignedFlowID:             true,
	FirstPacketTwice:         true,
	FlagsFirstPacketOnly:     true,
	QuotedUDP:                true,
	ContinuationFirstForward: true,
	LastBwdWindow:            true,
	VLANTrailer:              true,
	NoWindow:                 -1,
	subflowGap:               1_000_000,
	Columns:                  cic2017Columns(),
}

// Engelen reproduces GintsEngelen/CICFlowMeter at 4dd5319 (2024-06-26), the
// corrected fork of Engelen, Rimmer and Joosen (WTMC 2021).
var Engelen = &Profile{
	Name:               "engelen",
	TCPTeardown:        true,
	MinPackets:         1,
	CountFirstActData:  true,
	ICMPFlows:          true,
	SynAckReverses:     true,
	ActivityAllPackets: true,
	FreshContinuation:  true,
	VLANTrailer:        true,
	Bulk:               true,
	Retransmissions:    true,
	subflowGap:         1_000_000,
	Columns:            engelenColumns(),
}

// labelCol writes the flow's label, or the reference's placeholder.
func labelCol(placeholder string) Column {
	return textCol("Label", func(b []byte, f *Flow) []byte {
		if f.Label != "" {
			return append(b, f.Label...)
		}
		return append(b, placeholder...)
	})
}

func fwdN(f *Flow) int64 { return f.fwd.length.n }
func bwdN(f *Flow) int64 { return f.bwd.length.n }

func pktsPerSec(n func(*Flow) int64) func(*Flow) float64 {
	return func(f *Flow) float64 {
		if f.Duration() > 0 {
			return float64(n(f)) / seconds(f)
		}
		return 0
	}
}

func segAvg(sel func(*Flow) *stat) func(*Flow) float64 {
	return func(f *Flow) float64 {
		if s := sel(f); s.n != 0 {
			return s.sum / float64(s.n)
		}
		return 0
	}
}

func pktSizeAvg(f *Flow) float64 {
	if n := f.Packets(); n > 0 {
		return f.length.sum / float64(n)
	}
	return 0
}

func flowBytesPerSec(f *Flow) float64 { return float64(f.fwd.bytes+f.bwd.bytes) / seconds(f) }
func flowPktsPerSec(f *Flow) float64  { return float64(f.Packets()) / seconds(f) }

// flagCols writes the eight flag counters under the given names; slots says
// which counter (FIN SYN RST PSH ACK URG CWR ECE = 0..7) each column shows.
func flagCols(names []string, slots []int) []Column {
	cols := make([]Column, len(names))
	for i, name := range names {
		s := slots[i]
		cols[i] = intCol(name, func(f *Flow) int64 { return f.flags[s] })
	}
	return cols
}

func cic2017Columns() []Column {
	var c []Column
	add := func(cols ...Column) { c = append(c, cols...) }
	add(idColumns(appendTime12)...)
	add(intCol("Tot Fwd Pkts", fwdN), intCol("Tot Bwd Pkts", bwdN),
		dblCol("TotLen Fwd Pkts", func(f *Flow) float64 { return f.fwd.length.sum }),
		dblCol("TotLen Bwd Pkts", func(f *Flow) float64 { return f.bwd.length.sum }))
	add(statCols([]string{"Fwd Pkt Len Max", "Fwd Pkt Len Min", "Fwd Pkt Len Mean", "Fwd Pkt Len Std"}, maxMinMeanStd, fwdLen, hasFwd, zeroInt)...)
	add(statCols([]string{"Bwd Pkt Len Max", "Bwd Pkt Len Min", "Bwd Pkt Len Mean", "Bwd Pkt Len Std"}, maxMinMeanStd, bwdLen, hasBwd, zeroInt)...)
	add(dblCol("Flow Byts/s", flowBytesPerSec), dblCol("Flow Pkts/s", flowPktsPerSec))
	add(statCols([]string{"Flow IAT Mean", "Flow IAT Std", "Flow IAT Max", "Flow IAT Min"}, meanStdMaxMin, flowIAT, nil, zeroInt)...)
	add(statCols([]string{"Fwd IAT Tot", "Fwd IAT Mean", "Fwd IAT Std", "Fwd IAT Max", "Fwd IAT Min"}, totMeanStdMax, fwdIAT, twoFwd, zeroInt)...)
	add(statCols([]string{"Bwd IAT Tot", "Bwd IAT Mean", "Bwd IAT Std", "Bwd IAT Max", "Bwd IAT Min"}, totMeanStdMax, bwdIAT, twoBwd, zeroInt)...)
	add(intCol("Fwd PSH Flags", func(f *Flow) int64 { return f.fwd.psh }),
		intCol("Bwd PSH Flags", func(f *Flow) int64 { return f.bwd.psh }),
		intCol("Fwd URG Flags", func(f *Flow) int64 { return f.fwd.urg }),
		intCol("Bwd URG Flags", func(f *Flow) int64 { return f.bwd.urg }),
		intCol("Fwd Header Len", func(f *Flow) int64 { return f.fwd.header }),
		intCol("Bwd Header Len", func(f *Flow) int64 { return f.bwd.header }),
		dblCol("Fwd Pkts/s", pktsPerSec(fwdN)), dblCol("Bwd Pkts/s", pktsPerSec(bwdN)))
	add(statCols([]string{"Pkt Len Min", "Pkt Len Max", "Pkt Len Mean", "Pkt Len Std", "Pkt Len Var"}, minMaxMeanVar, allLen, nil, zeroInt)...)
	// The header names the flags FIN..ECE, but the reference wrote its
	// HashMap's iteration order: RST, PSH, ECE, SYN, ACK, FIN, URG, CWR.
	add(flagCols([]string{"FIN Flag Cnt", "SYN Flag Cnt", "RST Flag Cnt", "PSH Flag Cnt", "ACK Flag Cnt", "URG Flag Cnt", "CWE Flag Count", "ECE Flag Cnt"},
		[]int{2, 3, 7, 1, 4, 0, 5, 6})...)
	add(dblCol("Down/Up Ratio", func(f *Flow) float64 {
		if n := fwdN(f); n > 0 {
			return float64(bwdN(f) / n) // integer division, as the reference
		}
		return 0
	}),
		dblCol("Pkt Size Avg", pktSizeAvg),
		dblCol("Fwd Seg Size Avg", segAvg(fwdLen)), dblCol("Bwd Seg Size Avg", segAvg(bwdLen)))
	// Bulk state was only ever updated on a flow's first packet, so the
	// reference's bulk columns are always zero.
	for _, name := range []string{"Fwd Byts/b Avg", "Fwd Pkts/b Avg", "Fwd Blk Rate Avg", "Bwd Byts/b Avg", "Bwd Pkts/b Avg", "Bwd Blk Rate Avg"} {
		add(intCol(name, func(*Flow) int64 { return 0 }))
	}
	// Its subflow counter was stuck at one: subflow values are the totals.
	add(intCol("Subflow Fwd Pkts", fwdN), intCol("Subflow Fwd Byts", func(f *Flow) int64 { return f.fwd.bytes }),
		intCol("Subflow Bwd Pkts", bwdN), intCol("Subflow Bwd Byts", func(f *Flow) int64 { return f.bwd.bytes }),
		intCol("Init Fwd Win Byts", func(f *Flow) int64 { return f.fwd.initWin }),
		intCol("Init Bwd Win Byts", func(f *Flow) int64 { return f.bwd.initWin }),
		intCol("Fwd Act Data Pkts", func(f *Flow) int64 { return f.fwd.actData }),
		intCol("Fwd Seg Size Min", func(f *Flow) int64 { return f.fwd.minSeg }))
	add(statCols([]string{"Active Mean", "Active Std", "Active Max", "Active Min"}, meanStdMaxMin, active, hasAct, zeroInt)...)
	add(statCols([]string{"Idle Mean", "Idle Std", "Idle Max", "Idle Min"}, meanStdMaxMin, idle, hasIdle, zeroInt)...)
	add(labelCol("No Label"))
	return c
}

// rateOrMinus1 is engelen's rate: -1 (an integer) for zero-duration flows.
func rateOrMinus1(fn func(*Flow) float64) func(*Flow) Value {
	return func(f *Flow) Value {
		if f.Duration() == 0 {
			return i64(-1)
		}
		return f64(fn(f))
	}
}

func bulkAvg(sel func(*Flow) *bulk, part func(*bulk) int64) func(*Flow) float64 {
	return func(f *Flow) float64 {
		if b := sel(f); b.states != 0 {
			return float64(part(b)) / float64(b.states)
		}
		return 0
	}
}

func bulkRate(sel func(*Flow) *bulk) func(*Flow) float64 {
	return func(f *Flow) float64 {
		if b := sel(f); b.duration != 0 {
			return float64(b.size) / (float64(b.duration) / 1e6)
		}
		return 0
	}
}

func subflow(n func(*Flow) int64) func(*Flow) float64 {
	return func(f *Flow) float64 {
		if f.subflows > 0 {
			return float64(n(f)) / float64(f.subflows)
		}
		return 0
	}
}

func engelenColumns() []Column {
	var c []Column
	add := func(cols ...Column) { c = append(c, cols...) }
	fb := func(f *Flow) *bulk { return &f.fwd.bulk }
	bb := func(f *Flow) *bulk { return &f.bwd.bulk }
	add(idColumns(appendTimeISO)...)
	add(intCol("Total Fwd Packet", fwdN), intCol("Total Bwd packets", bwdN),
		dblCol("Total Length of Fwd Packet", func(f *Flow) float64 { return f.fwd.length.sum }),
		dblCol("Total Length of Bwd Packet", func(f *Flow) float64 { return f.bwd.length.sum }))
	add(statCols([]string{"Fwd Packet Length Max", "Fwd Packet Length Min", "Fwd Packet Length Mean", "Fwd Packet Length Std"}, maxMinMeanStd, fwdLen, hasFwd, zeroInt)...)
	add(statCols([]string{"Bwd Packet Length Max", "Bwd Packet Length Min", "Bwd Packet Length Mean", "Bwd Packet Length Std"}, maxMinMeanStd, bwdLen, hasBwd, zeroInt)...)
	add(anyCol("Flow Bytes/s", rateOrMinus1(flowBytesPerSec)), anyCol("Flow Packets/s", rateOrMinus1(flowPktsPerSec)))
	add(statCols([]string{"Flow IAT Mean", "Flow IAT Std", "Flow IAT Max", "Flow IAT Min"}, meanStdMaxMin, flowIAT, hasIAT, zeroDbl)...)
	add(statCols([]string{"Fwd IAT Total", "Fwd IAT Mean", "Fwd IAT Std", "Fwd IAT Max", "Fwd IAT Min"}, totMeanStdMax, fwdIAT, twoFwd, zeroInt)...)
	add(statCols([]string{"Bwd IAT Total", "Bwd IAT Mean", "Bwd IAT Std", "Bwd IAT Max", "Bwd IAT Min"}, totMeanStdMax, bwdIAT, twoBwd, zeroInt)...)
	add(intCol("Fwd PSH Flags", func(f *Flow) int64 { return f.fwd.psh }),
		intCol("Bwd PSH Flags", func(f *Flow) int64 { return f.bwd.psh }),
		intCol("Fwd URG Flags", func(f *Flow) int64 { return f.fwd.urg }),
		intCol("Bwd URG Flags", func(f *Flow) int64 { return f.bwd.urg }),
		intCol("Fwd RST Flags", func(f *Flow) int64 { return f.fwd.rst }),
		intCol("Bwd RST Flags", func(f *Flow) int64 { return f.bwd.rst }),
		intCol("Fwd Header Length", func(f *Flow) int64 { return f.fwd.header }),
		intCol("Bwd Header Length", func(f *Flow) int64 { return f.bwd.header }),
		dblCol("Fwd Packets/s", pktsPerSec(fwdN)), dblCol("Bwd Packets/s", pktsPerSec(bwdN)))
	add(statCols([]string{"Packet Length Min", "Packet Length Max", "Packet Length Mean", "Packet Length Std", "Packet Length Variance"}, minMaxMeanVar, allLen, nil, zeroInt)...)
	add(flagCols([]string{"FIN Flag Count", "SYN Flag Count", "RST Flag Count", "PSH Flag Count", "ACK Flag Count", "URG Flag Count", "CWR Flag Count", "ECE Flag Count"},
		[]int{0, 1, 2, 3, 4, 5, 6, 7})...)
	add(dblCol("Down/Up Ratio", func(f *Flow) float64 {
		if n := fwdN(f); n > 0 {
			return float64(bwdN(f)) / float64(n)
		}
		return 0
	}),
		dblCol("Average Packet Size", pktSizeAvg),
		dblCol("Fwd Segment Size Avg", segAvg(fwdLen)), dblCol("Bwd Segment Size Avg", segAvg(bwdLen)),
		dblCol("Fwd Bytes/Bulk Avg", bulkAvg(fb, func(b *bulk) int64 { return b.size })),
		dblCol("Fwd Packet/Bulk Avg", bulkAvg(fb, func(b *bulk) int64 { return b.packets })),
		dblCol("Fwd Bulk Rate Avg", bulkRate(fb)),
		dblCol("Bwd Bytes/Bulk Avg", bulkAvg(bb, func(b *bulk) int64 { return b.size })),
		dblCol("Bwd Packet/Bulk Avg", bulkAvg(bb, func(b *bulk) int64 { return b.packets })),
		dblCol("Bwd Bulk Rate Avg", bulkRate(bb)),
		dblCol("Subflow Fwd Packets", subflow(fwdN)),
		dblCol("Subflow Fwd Bytes", subflow(func(f *Flow) int64 { return f.fwd.bytes })),
		dblCol("Subflow Bwd Packets", subflow(bwdN)),
		dblCol("Subflow Bwd Bytes", subflow(func(f *Flow) int64 { return f.bwd.bytes })),
		intCol("FWD Init Win Bytes", func(f *Flow) int64 { return f.fwd.initWin }),
		intCol("Bwd Init Win Bytes", func(f *Flow) int64 { return f.bwd.initWin }),
		intCol("Fwd Act Data Pkts", func(f *Flow) int64 { return f.fwd.actData }),
		intCol("Bwd Act Data Pkts", func(f *Flow) int64 { return f.bwd.actData }),
		intCol("Fwd Seg Size Min", func(f *Flow) int64 { return f.fwd.minSeg }),
		intCol("Bwd Seg Size Min", func(f *Flow) int64 { return f.bwd.minSeg }))
	add(statCols([]string{"Active Mean", "Active Std", "Active Max", "Active Min"}, meanStdMaxMin, active, hasAct, zeroInt)...)
	add(statCols([]string{"Idle Mean", "Idle Std", "Idle Max", "Idle Min"}, meanStdMaxMin, idle, hasIdle, zeroInt)...)
	add(intCol("ICMP Code", func(f *Flow) int64 { return int64(f.ICMPCode) }),
		intCol("ICMP Type", func(f *Flow) int64 { return int64(f.ICMPType) }),
		intCol("Fwd TCP Retrans. Count", func(f *Flow) int64 { return f.fwd.retrans }),
		intCol("Bwd TCP Retrans. Count", func(f *Flow) int64 { return f.bwd.retrans }),
		intCol("Total TCP Retrans. Count", func(f *Flow) int64 { return f.fwd.retrans + f.bwd.retrans }),
		intCol("Total Connection Flow Time", func(f *Flow) int64 {
			if f.Proto == decode.ProtoTCP || f.Proto == decode.ProtoUDP {
				return f.LastSeen - f.connStart
			}
			return 0
		}),
		labelCol("NeedManualLabel"))
	return c
}
