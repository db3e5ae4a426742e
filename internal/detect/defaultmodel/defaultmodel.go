// Package defaultmodel embeds the model flowguard uses when none is given:
// gradient-boosted trees trained by flowguard's own pipeline on the
// CIC-IDS2017 extracts (classes BENIGN, Bot, BruteForce, DDoS, DoS,
// Infiltration, PortScan, WebAttack; cic2017 flow-meter profile).
// scripts/default-model.sh rebuilds it; its test checks the rebuild is
// identical.
package defaultmodel

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/flowguard/flowguard/internal/model"
)

//go:embed flowguard-default.model
var data []byte

// Name is how alerts and the API name the embedded model.
const Name = "flowguard-default"

// Load decodes the embedded model.
func Load() (*model.Artifact, error) {
	a, err := model.Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("embedded default model: %w", err)
	}
	return a, nil
}
