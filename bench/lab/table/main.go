// Command table prints the testbed detection table from the summary.json
// files of `flowguard lab run --detect` runs, one run per detector, as a
// Markdown table: per scenario, flows, attack flows, and for each detector
// recall, false-alert rate and time to the first alert.
//
//	go run ./bench/lab/table OUT/a/summary.json OUT/b/summary.json ...
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type result struct {
	Scenario          string   `json:"scenario"`
	Label             string   `json:"label"`
	Flows             int      `json:"flows"`
	AttackFlows       int      `json:"attack_flows"`
	Alerts            *int     `json:"alerts"`
	Detected          int      `json:"detected"`
	Recall            float64  `json:"recall"`
	FalseAlerts       int      `json:"false_alerts"`
	FalseAlertRate    float64  `json:"false_alert_rate"`
	FirstAlertSeconds *float64 `json:"first_alert_seconds"`
}

type summary struct {
	Scenarios []result `json:"scenarios"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "table:", err)
		os.Exit(1)
	}
}

func run(paths []string) error {
	if len(paths) == 0 {
		return fmt.Errorf("usage: table SUMMARY.json...")
	}
	runs := make([]map[string]result, len(paths))
	var order []string
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var s summary
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		runs[i] = map[string]result{}
		for _, r := range s.Scenarios {
			if r.Alerts == nil {
				return fmt.Errorf("%s: scenario %s has no detection results (run with --detect)", p, r.Scenario)
			}
			runs[i][r.Scenario] = r
			if i == 0 {
				order = append(order, r.Scenario)
			}
		}
	}
	head := []string{"scenario", "label", "flows", "attack flows"}
	for _, p := range paths {
		n := filepath.Base(filepath.Dir(p))
		head = append(head, n+" recall", n+" false-alert rate", n+" first alert s")
	}
	fmt.Println("| " + strings.Join(head, " | ") + " |")
	fmt.Println("|" + strings.Repeat("---|", len(head)))
	for _, sc := range order {
		r0 := runs[0][sc]
		row := []string{sc, r0.Label, fmt.Sprint(r0.Flows), fmt.Sprint(r0.AttackFlows)}
		for _, run := range runs {
			r, ok := run[sc]
			if !ok {
				row = append(row, "–", "–", "–")
				continue
			}
			recall := "–"
			if r.AttackFlows > 0 {
				recall = fmt.Sprintf("%.3f (%d/%d)", r.Recall, r.Detected, r.AttackFlows)
			}
			first := "–"
			if r.FirstAlertSeconds != nil {
				first = fmt.Sprintf("%.1f", *r.FirstAlertSeconds)
			}
			row = append(row, recall, fmt.Sprintf("%.4f (%d)", r.FalseAlertRate, r.FalseAlerts), first)
		}
		fmt.Println("| " + strings.Join(row, " | ") + " |")
	}
	return nil
}
