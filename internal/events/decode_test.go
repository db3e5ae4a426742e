package events

import "testing"

func TestDecode(t *testing.T) {
	for _, c := range []struct {
		in         string
		plus, html bool
		want       string
		rounds     int
	}{
		{"a%20b", false, false, "a b", 1},
		{"a+b", true, false, "a b", 1},
		{"a+b", false, false, "a+b", 0},                              // paths keep '+'
		{"a%2Bb", true, false, "a+b", 1},                             // an encoded plus is a plus
		{"%2527", false, false, "'", 2},                              // double encoding
		{"%252527", false, false, "'", 3},                            // triple
		{"%25252527", false, false, "%27", 3},                        // stops after three rounds
		{"%3cScRiPt%3E", false, false, "<ScRiPt>", 1},                // mixed-case hex
		{"%u003Cscript%U003e", false, false, "<script>", 1},          // IIS %u
		{"A%F1adir+al+carrito", true, false, "Añadir al carrito", 1}, // Latin-1 byte
		{"%C3%B1", false, false, "ñ", 1},                             // UTF-8 bytes stay UTF-8
		{"%80", false, false, "€", 1},                                // cp1252 high range
		{"100%", false, false, "100%", 0},                            // malformed escapes kept
		{"%zz%4", false, false, "%zz%4", 0},
		{"%uD800", false, false, "\uFFFD", 1}, // lone surrogate
		{"%00", false, false, "\x00", 1},
		{"&lt;img src=x onerror=alert(1)&gt;", false, true, "<img src=x onerror=alert(1)>", 0},
		{"&#60;&#x3C;&#x3c&amp;", false, true, "<<<&", 0},
		{"&lt;", false, false, "&lt;", 0},
		{"%26lt%3B", false, true, "<", 1},
		{"&bogus;&", false, true, "&bogus;&", 0},
	} {
		got, rounds := DecodeRounds(c.in, c.plus, c.html)
		if got != c.want || rounds != c.rounds {
			t.Errorf("DecodeRounds(%q, plus=%v, html=%v) = %q, %d; want %q, %d", c.in, c.plus, c.html, got, rounds, c.want, c.rounds)
		}
	}
}
