package cli

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/flowguard/flowguard/internal/lab"
)

// newLabWatcher builds the live detector `lab run --detect` scores. The
// live-capture implementation replaces it from its own file.
var newLabWatcher = func(modelPath string) (lab.Watcher, error) {
	return nil, errors.New("live detection not built yet")
}

func newLabCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Attack testbed: run real attack tools against a victim in network namespaces and label the traffic",
		Long: `Builds a small network in Linux network namespaces joined by a bridge
(victim with HTTP, SSH, FTP and DNS services, benign clients, an attacker),
runs attack scenarios with real tools (nmap, hping3, slowhttptest, hydra,
sqlmap), captures the bridge, and writes a labelled dataset per scenario.
Needs root; scripts/lab-deps.sh installs the Debian packages. See docs/lab.md.`,
	}
	cmd.AddCommand(newLabListCmd(e), newLabRunCmd(e), newLabCleanCmd(e), newLabRoleCmd(e, "victim"), newLabRoleCmd(e, "client"))
	return cmd
}

func newLabListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Name the scenarios with their label and parameters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			scs, err := lab.Scenarios()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SCENARIO\tLABEL\tPARAMETERS\tDESCRIPTION")
			for _, s := range scs {
				var ps []string
				for _, k := range sortedKeys(s.Params) {
					ps = append(ps, k+"="+s.Params[k])
				}
				label := s.Label
				if label == "" {
					label = "BENIGN"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, label, strings.Join(ps, " "), s.Description)
			}
			return tw.Flush()
		},
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func newLabRunCmd(e *env) *cobra.Command {
	var (
		out    string
		detect bool
		model  string
		sets   []string
		seed   int64
	)
	cmd := &cobra.Command{
		Use:   "run SCENARIO... [--out DIR] [--detect]",
		Short: "Run scenarios on a fresh testbed and write capture, labelled flows and a summary",
		Long: `Builds the testbed, runs the scenarios one after another, and tears it all
down afterwards (also on failure or Ctrl-C). Needs root.

Output, one directory per scenario plus a run summary:

  DIR/SCENARIO/capture.pcap        everything seen on the lab bridge
  DIR/SCENARIO/flows.csv           engelen profile flows, Label filled
  DIR/SCENARIO/flows-cic2017.csv   cic2017 profile flows, Label filled
  DIR/SCENARIO/summary.json        flows, attack_flows, steps as run
  DIR/SCENARIO/alerts.eve.json     with --detect: the live alerts
                                   (with --detect: detected, recall,
                                   false_alerts, first_alert_seconds)
  DIR/summary.json                 all scenarios

A flow is labelled with the scenario's class when the attacker is one of
its ends and it overlaps an attack step's run; every other flow is BENIGN.
Parameters (flowguard lab list shows them) are overridden with
--set NAME=VALUE, e.g. --set rate=2000 --set duration=20s. Progress goes
to stderr.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set := map[string]string{}
			for _, s := range sets {
				k, v, ok := strings.Cut(s, "=")
				if !ok || k == "" {
					return fmt.Errorf("--set %q: want NAME=VALUE", s)
				}
				set[k] = v
			}
			cfg := lab.Config{Scenarios: args, Out: out, Set: set, Seed: seed, Progress: e.stderr}
			if detect {
				w, err := newLabWatcher(model)
				if err != nil {
					return fmt.Errorf("--detect: %w", err)
				}
				cfg.Watcher = w
			}
			_, err := lab.Run(cmd.Context(), cfg)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "lab-out", "output directory (one subdirectory per scenario)")
	f.BoolVar(&detect, "detect", false, "run flowguard live on the lab bridge and score its alerts per scenario")
	f.StringVar(&model, "model", "", "model for --detect (default: the built-in model)")
	f.StringArrayVar(&sets, "set", nil, "override a scenario parameter, NAME=VALUE (repeatable)")
	f.Int64Var(&seed, "seed", 1, "seed of the background traffic and of {{.Seed}} in scenarios")
	return cmd
}

// newLabRoleCmd is a hidden command the lab runs inside its namespaces.
func newLabRoleCmd(e *env, role string) *cobra.Command {
	return &cobra.Command{
		Use:                role,
		Short:              "internal: the lab's " + role + " role",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return lab.ChildMain(cmd.Context(), append([]string{role}, args...), e.stderr)
		},
	}
}

func newLabCleanCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "clean",
		Short: "Remove what runs killed outright (SIGKILL) left behind: namespaces, links, processes",
		Long: `Every run tears its lab down, also on failure or Ctrl-C; only a run killed
with SIGKILL (or a crash of the machine) leaves namespaces and links behind.
This removes the labs whose flowguard process is gone; running labs are left
alone. Runs also do this when they start. Needs root.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := lab.Clean(cmd.Context())
			for _, id := range ids {
				fmt.Fprintf(e.stderr, "lab: removed lab %s\n", id)
			}
			return err
		},
	}
}
