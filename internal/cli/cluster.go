package cli

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/cluster"
)

func newClusterCmd(e *env) *cobra.Command {
	var (
		algo, data, exclude string
		eps                 float64
		minSamples, minSize int
		asJSON              bool
	)
	cmd := &cobra.Command{
		Use:   "cluster --algo dbscan|hdbscan --data CSV",
		Short: "Cluster the numeric columns of a CSV (DBSCAN or HDBSCAN)",
		Long: `Clusters the rows of a CSV (optionally gzip-compressed) on its numeric
columns, as scikit-learn's DBSCAN and HDBSCAN do (Euclidean). Columns named
label, class or y, and those listed in --exclude, are not features. Without
--eps, DBSCAN takes eps from the knee of the sorted k-distance curve
(k = --min-samples) and says so. With --json one object is printed:
labels (one per row in input order, -1 = noise), eps, clusters, noise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" {
				return errors.New("--data is required")
			}
			skip := map[string]bool{"label": true, "class": true, "y": true}
			for _, c := range strings.Split(exclude, ",") {
				if c = strings.TrimSpace(c); c != "" {
					skip[strings.ToLower(c)] = true
				}
			}
			x, cols, err := readNumericCSV(data, skip)
			if err != nil {
				return err
			}
			opts := &cluster.Options{Context: cmd.Context()}
			out := struct {
				Algorithm string              `json:"algorithm"`
				Columns   []string            `json:"columns"`
				Eps       float64             `json:"eps,omitempty"`
				EpsFrom   string              `json:"eps_from,omitempty"`
				Knee      *cluster.KneeResult `json:"k_distance,omitempty"`
				Clusters  int                 `json:"clusters"`
				Noise     int                 `json:"noise"`
				Labels    []int               `json:"labels"`
				Outlier   []float64           `json:"outlier_scores,omitempty"`
			}{Algorithm: algo, Columns: cols}
			switch algo {
			case "dbscan":
				out.Eps, out.EpsFrom = eps, "--eps"
				if eps <= 0 {
					kd, err := cluster.KDistance(x, minSamples, opts)
					if err != nil {
						return err
					}
					knee, err := cluster.Knee(kd, 200)
					if err != nil {
						return err
					}
					out.Eps, out.EpsFrom, out.Knee = knee.Eps, fmt.Sprintf("knee of the %d-distance curve", minSamples), &knee
				}
				if out.Labels, err = cluster.DBSCAN(x, out.Eps, minSamples, opts); err != nil {
					return err
				}
			case "hdbscan":
				res, err := cluster.HDBSCAN(x, minSize, minSamples, opts)
				if err != nil {
					return err
				}
				out.Labels, out.Outlier = res.Labels, res.Outlier
			default:
				return fmt.Errorf("unknown algorithm %q (want dbscan or hdbscan)", algo)
			}
			sizes := map[int]int{}
			for _, l := range out.Labels {
				if l < 0 {
					out.Noise++
				} else {
					sizes[l]++
				}
			}
			out.Clusters = len(sizes)
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(out)
			}
			fmt.Fprintf(e.stdout, "%s on %d rows × %d columns: %d clusters, %d noise rows", algo, x.Rows, x.Cols, out.Clusters, out.Noise)
			if algo == "dbscan" {
				fmt.Fprintf(e.stdout, " (eps %.6g from %s, min samples %d)", out.Eps, out.EpsFrom, minSamples)
			}
			fmt.Fprintln(e.stdout)
			ids := make([]int, 0, len(sizes))
			for l := range sizes {
				ids = append(ids, l)
			}
			sort.Slice(ids, func(i, j int) bool { return sizes[ids[i]] > sizes[ids[j]] })
			for _, l := range ids[:min(len(ids), 20)] {
				fmt.Fprintf(e.stdout, "  cluster %4d: %d rows\n", l, sizes[l])
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&algo, "algo", "dbscan", "dbscan|hdbscan")
	f.StringVar(&data, "data", "", "CSV file (header row; .gz allowed)")
	f.Float64Var(&eps, "eps", 0, "DBSCAN neighbourhood radius (0: knee of the k-distance curve)")
	f.IntVar(&minSamples, "min-samples", 5, "points within eps, itself included, that make a core point")
	f.IntVar(&minSize, "min-cluster-size", 5, "HDBSCAN: smallest cluster")
	f.StringVar(&exclude, "exclude", "", "comma-separated columns that are not features")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// readNumericCSV reads the columns of a CSV whose every value parses as a
// number, minus skipped names. Other columns are ignored; a row with a
// non-numeric value in a kept column is an error naming it.
func readNumericCSV(path string, skip map[string]bool) (*ml.Matrix, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var r io.Reader = f
	var magic [2]byte
	if n, _ := f.Read(magic[:]); n == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		f.Seek(0, io.SeekStart)
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		r = zr
	} else {
		f.Seek(0, io.SeekStart)
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: header: %w", path, err)
	}
	head = append([]string(nil), head...)
	var rows [][]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		rows = append(rows, append([]string(nil), rec...))
	}
	var cols []int
	var names []string
	for j, name := range head {
		if skip[strings.ToLower(strings.TrimSpace(name))] {
			continue
		}
		numeric := len(rows) > 0
		for _, rec := range rows {
			if _, err := strconv.ParseFloat(strings.TrimSpace(rec[j]), 64); err != nil {
				numeric = false
				break
			}
		}
		if numeric {
			cols, names = append(cols, j), append(names, name)
		}
	}
	if len(cols) == 0 {
		return nil, nil, fmt.Errorf("%s: no numeric column to cluster", path)
	}
	x := ml.NewMatrix(len(rows), len(cols))
	for i, rec := range rows {
		for k, j := range cols {
			x.Data[i*len(cols)+k], _ = strconv.ParseFloat(strings.TrimSpace(rec[j]), 64)
		}
	}
	return x, names, nil
}
