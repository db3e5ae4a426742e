package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// field is what a column is kept for besides being a feature.
type field uint8

const (
	fieldNone field = iota
	fieldLabel
	fieldTime
	fieldFlowID
	fieldSrcIP
	fieldDstIP
	fieldCommunityID
	fieldSrcPort
	fieldDstPort
	fieldProtocol
)

var idFields = map[string]field{"flow_id": fieldFlowID, "src_ip": fieldSrcIP, "dst_ip": fieldDstIP,
	"community_id": fieldCommunityID, "src_port": fieldSrcPort, "dst_port": fieldDstPort, "protocol": fieldProtocol}

// role is what one input column feeds: a feature slot (-1 for none)
// and/or a field.
type role struct {
	slot  int
	field field
	name  string
}

// builder turns cells into one row of a chunk. Each parsing goroutine has
// its own, with caches for the few distinct labels, times and addresses.
type builder struct {
	roles  []role
	d      *Dialect
	nf     int
	c      *chunk
	base   int
	labels map[string]string
	ips    map[string]string
	tRaw   []byte
	tVal   int64
	tErr   error
}

func (b *builder) begin() {
	c := b.c
	b.base = len(c.x)
	c.x = slices.Grow(c.x, b.nf)[:b.base+b.nf]
	for i := b.base; i < len(c.x); i++ {
		c.x[i] = nan
	}
	c.labels = append(c.labels, Unlabelled)
	c.times = append(c.times, TimeUnknown)
	if ids := c.ids; ids != nil {
		ids.FlowID = append(ids.FlowID, "")
		ids.SrcIP = append(ids.SrcIP, "")
		ids.DstIP = append(ids.DstIP, "")
		ids.CommunityID = append(ids.CommunityID, "")
		ids.SrcPort = append(ids.SrcPort, -1)
		ids.DstPort = append(ids.DstPort, -1)
		ids.Protocol = append(ids.Protocol, -1)
	}
}

func (b *builder) end() { b.c.rows++ }

// cellError names the column and shows the cell.
func cellError(name string, v []byte, err error) error {
	if len(v) > 40 {
		v = append(v[:37:37], "..."...)
	}
	return fmt.Errorf("column %q: %q: %w", name, v, err)
}

// text sets column i from its text.
func (b *builder) text(i int, v []byte) error {
	r := &b.roles[i]
	if r.field == fieldNone { // most cells: a feature, or a column ignored
		if r.slot < 0 {
			return nil
		}
		f, err := parseFloat(v)
		if err != nil {
			return cellError(r.name, v, err)
		}
		b.c.x[b.base+r.slot] = f
		return nil
	}
	switch r.field {
	case fieldLabel:
		last := len(b.c.labels) - 1
		s, ok := b.labels[string(v)]
		if !ok {
			s = normLabel(v, b.d)
			b.labels[string(v)] = s
		}
		b.c.labels[last] = s
		return nil
	case fieldTime:
		if len(bytes.TrimSpace(v)) == 0 {
			return nil
		}
		if !bytes.Equal(v, b.tRaw) {
			b.tRaw = append(b.tRaw[:0], v...)
			b.tVal, b.tErr = parseTime(v, b.d)
		}
		if b.tErr != nil {
			return cellError(r.name, v, b.tErr)
		}
		b.c.times[len(b.c.times)-1] = b.tVal
		return nil
	case fieldFlowID, fieldCommunityID:
		ids, last := b.c.ids, len(b.c.ids.FlowID)-1
		if r.field == fieldFlowID {
			ids.FlowID[last] = string(bytes.TrimSpace(v))
		} else {
			ids.CommunityID[last] = string(bytes.TrimSpace(v))
		}
		return nil
	case fieldSrcIP, fieldDstIP:
		v = bytes.TrimSpace(v)
		s, ok := b.ips[string(v)]
		if !ok {
			s = string(v)
			b.ips[s] = s
		}
		last := len(b.c.ids.SrcIP) - 1
		if r.field == fieldSrcIP {
			b.c.ids.SrcIP[last] = s
		} else {
			b.c.ids.DstIP[last] = s
		}
		return nil
	}
	f, err := parseFloat(v)
	if err != nil {
		return cellError(r.name, v, err)
	}
	return b.number(i, f)
}

// number sets column i from a typed numeric value (Parquet, or text
// already parsed).
func (b *builder) number(i int, f float64) error {
	r := &b.roles[i]
	if f == 0 {
		f = 0 // no signed zeros, see parseFloat
	}
	if r.slot >= 0 {
		b.c.x[b.base+r.slot] = f
	}
	switch r.field {
	case fieldNone:
		return nil
	case fieldSrcPort, fieldDstPort, fieldProtocol:
		v := int32(-1)
		if f >= 0 && f <= 1<<31-1 {
			v = int32(f)
		}
		ids, last := b.c.ids, len(b.c.ids.SrcPort)-1
		switch r.field {
		case fieldSrcPort:
			ids.SrcPort[last] = v
		case fieldDstPort:
			ids.DstPort[last] = v
		default:
			ids.Protocol[last] = v
		}
		return nil
	case fieldTime:
		return cellError(r.name, strconv.AppendFloat(nil, f, 'g', -1, 64), errors.New("numeric timestamps are not supported"))
	}
	return b.text(i, strconv.AppendFloat(nil, f, 'f', -1, 64))
}
