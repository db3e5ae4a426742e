//go:build jcheck

package javafmt

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestGoldNonShortest(t *testing.T) {
	m1, _ := filepath.Glob(goldenDir + "/*/*.csv")
	n, ns := 0, 0
	paths := map[string]int{}
	for _, name := range m1 {
		data, _ := os.ReadFile(name)
		for _, line := range bytes.Split(data, []byte{'\n'})[1:] {
			for _, c := range bytes.Split(line, []byte{','}) {
				if !isJavaDouble(c) {
					continue
				}
				f, err := strconv.ParseFloat(string(c), 64)
				if err != nil {
					continue
				}
				n++
				paths[pathOf(f)]++
				if shortestJava(f) != string(c) {
					ns++
					if ns < 6 {
						t.Logf("%s vs shortest %s", c, shortestJava(f))
					}
				}
			}
		}
	}
	t.Logf("%d cells, %d not shortest, paths %v", n, ns, paths)
}
