package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/detect/defaultmodel"
	"github.com/flowguard/flowguard/internal/model"
)

// TestDefaultModelReproducible retrains the embedded default model with
// the flags of scripts/default-model.sh and requires the same model: the
// binary's default is what flowguard's own pipeline makes from the shared
// data, not an opaque file.
func TestDefaultModelReproducible(t *testing.T) {
	s := sharedData(t, "flows/cic-ids2017")
	args, err := os.ReadFile("../detect/defaultmodel/train.args")
	if err != nil {
		t.Fatal(err)
	}
	var data []string
	for _, d := range []string{"lccde-sample", "machinelearningcve-heads", "rdube-machinelearningcve-heads", "trafficlabelling-attack-extracts", "trafficlabelling-heads"} {
		data = append(data, filepath.Join(s, d))
	}
	out := filepath.Join(t.TempDir(), "m.model")
	cmd := append([]string{"train", "-q", "--data", strings.Join(data, ","), "--runs-dir", t.TempDir(), "-o", out}, strings.Fields(string(args))...)
	if _, stderr, code := run(t, nil, cmd...); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	fresh, err := model.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := defaultmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(compact(t, fresh.Model), compact(t, embedded.Model)) {
		t.Fatal("the embedded default model differs from what scripts/default-model.sh trains now: rerun it and commit the model")
	}
	if fresh.Training.DataFingerprint != embedded.Training.DataFingerprint {
		t.Errorf("training data fingerprint %s, embedded %s", fresh.Training.DataFingerprint, embedded.Training.DataFingerprint)
	}
}

func compact(t *testing.T, raw json.RawMessage) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
