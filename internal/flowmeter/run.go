package flowmeter

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/decode"
)

// Source yields captured frames; *capture.Reader is one.
type Source interface {
	Next(*capture.Packet) error
}

// Run decodes every frame of src into m until src ends. It does not flush m,
// so several sources can feed one meter, as one capture split into files.
// A malformed capture ends the run with an error that wraps
// capture.ErrFormat; the flows metered so far stay in m.
func Run(ctx context.Context, src Source, m Sink) error {
	var (
		cp capture.Packet
		d  decode.Packet
	)
	for i := 0; ; i++ {
		if i&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := src.Next(&cp); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read packet %d: %w", i+1, err)
		}
		d.Timestamp, d.WireLen = cp.Timestamp, cp.OrigLen
		if r := decode.Decode(cp.Link, cp.Data, &d); r != decode.OK {
			m.Skip(r)
			continue
		}
		m.Add(&d)
	}
}
