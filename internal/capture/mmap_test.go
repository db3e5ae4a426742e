package capture

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestMappedMatchesStream reads a capture large enough to be memory mapped
// through Open and through the streaming path, whole and cut short, and
// requires the same packets and the same final error from both.
func TestMappedMatchesStream(t *testing.T) {
	var b bytes.Buffer
	w, err := NewPcapWriter(&b, LinkEthernet, 65535, false)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 1400)
	for i := range 60000 { // ~85 MB: several release windows
		frame[0], frame[1], frame[2] = byte(i), byte(i>>8), byte(i>>16)
		if err := w.WritePacket(int64(i)*1e6, frame[:64+i%1300], 64+i%1300); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"whole": b.Bytes(), "cut": b.Bytes()[:b.Len()-700]} {
		path := filepath.Join(dir, name+".pcap")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		mapped, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if mapped.mapped == nil {
			t.Fatalf("%s: a %d-byte file was not mapped", name, len(data))
		}
		stream, err := NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var pm, ps Packet
		n := 0
		for {
			em, es := mapped.Next(&pm), stream.Next(&ps)
			if (em == nil) != (es == nil) || em != nil && em.Error() != es.Error() {
				t.Fatalf("%s packet %d: mapped %v, stream %v", name, n, em, es)
			}
			if em != nil {
				if name == "cut" && !errors.Is(em, io.ErrUnexpectedEOF) || name == "whole" && em != io.EOF {
					t.Errorf("%s: ended with %v", name, em)
				}
				break
			}
			if !bytes.Equal(pm.Data, ps.Data) || pm.Timestamp != ps.Timestamp || pm.OrigLen != ps.OrigLen {
				t.Fatalf("%s packet %d differs", name, n)
			}
			n++
		}
		if n < 59990 {
			t.Errorf("%s: %d packets", name, n)
		}
		if got := mapped.Offset(); got <= 0 || got > int64(len(data)) {
			t.Errorf("%s: offset %d of %d", name, got, len(data))
		}
		if err := mapped.Close(); err != nil {
			t.Error(err)
		}
	}
}
