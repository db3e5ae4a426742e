package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeCheck builds the whole service (store, embedded model, routes)
// and exits; without a token it refuses to start.
func TestServeCheck(t *testing.T) {
	dir := t.TempDir()
	args := []string{"serve", "--check", "--listen", "127.0.0.1:0", "--store", "sqlite:" + filepath.Join(dir, "fg.db"),
		"--spool", filepath.Join(dir, "spool")}
	var out, errOut bytes.Buffer
	t.Setenv("FLOWGUARD_TOKEN", "")
	if code := Main(args, nil, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), "no bearer token") {
		t.Fatalf("without a token: exit %d, stderr %s", code, errOut.String())
	}
	out.Reset()
	errOut.Reset()
	t.Setenv("FLOWGUARD_TOKEN", "tok")
	if code := Main(args, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "configuration OK") || !strings.Contains(errOut.String(), "model=flowguard-default") ||
		strings.Contains(errOut.String(), "tok\"") {
		t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
	}
	errOut.Reset()
	if code := Main(append(args, "--insecure-no-auth"), nil, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "authentication disabled") {
		t.Fatalf("--insecure-no-auth: exit %d, stderr %s", code, errOut.String())
	}
}
