package dataset

import "testing"

func TestSmoke(t *testing.T) {
	for _, p := range []string{
		"../../../shared/data/flows/cic-ids2017",
		"../../../shared/data/flows/cse-cic-ids2018",
		"../../../shared/data/flows/k8s-misuse/malicious.csv.gz",
		"../../../shared/data/seeds/ml-ids",
	} {
		tab, rep, err := Load([]string{p}, LoadOptions{})
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		t.Logf("%s: %d rows\n%s", p, tab.Rows(), rep)
	}
}
