package events

import (
	"bytes"
	"errors"
	"fmt"
)

// Detect guesses the format of an input from its first bytes (a kilobyte
// is plenty). It looks only at structure, never at file names.
func Detect(head []byte) (Format, error) {
	b := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return "", errors.New("detecting event format: input is empty")
	}
	first, _, _ := bytes.Cut(b, []byte{'\n'})
	first = bytes.TrimRight(first, "\r")
	switch b[0] {
	case '[', '{':
		// A ModSecurity JSON record starts with its "transaction" object.
		if bytes.Contains(first, []byte(`"transaction"`)) {
			return FormatModSec, nil
		}
		return FormatMLPT, nil
	case '-':
		if _, _, ok := boundary(first); ok {
			return FormatModSec, nil
		}
	}
	if m, t, ok := requestLine(string(first)); ok && bytes.Contains(first, []byte(" HTTP/")) {
		_ = m
		if len(t) > 0 && (t[0] == '/' || bytes.HasPrefix([]byte(t), []byte("http"))) {
			return FormatCSIC, nil
		}
	}
	if _, err := parseAccessLine(string(first)); err == nil {
		return FormatAccess, nil
	}
	lower := bytes.ToLower(first)
	if bytes.Contains(lower, []byte(`"payload","length","attack_type","label"`)) ||
		bytes.Equal(lower, []byte("payload,length,attack_type,label")) {
		return FormatHTTPParams, nil
	}
	if first[0] == '/' {
		return FormatLines, nil
	}
	if bytes.Count(first, []byte{','}) >= 1 {
		return FormatCSV, nil
	}
	return "", fmt.Errorf("detecting event format: unrecognised first line %q; name the format", truncate(string(first), 60))
}
