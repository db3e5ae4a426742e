package events

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// synthEvents makes a deterministic mix of normal-looking requests.
func synthEvents(n int, seed uint64) []*Event {
	rng := rand.New(rand.NewPCG(seed, 1))
	words := []string{"vino", "rioja", "jamón", "queso", "aceite", "pan", "leche", "añadir"}
	pages := []string{"/tienda1/index.jsp", "/tienda1/publico/anadir.jsp", "/tienda1/publico/pagar.jsp", "/tienda1/miembros/editar.jsp"}
	evs := make([]*Event, n)
	for i := range evs {
		e := &Event{Method: "GET", Path: pages[rng.IntN(len(pages))], UserAgent: "Mozilla/5.0", ClientIP: "10.0.0.1", CookieLen: 43}
		q := fmt.Sprintf("id=%d&nombre=%s+%s&precio=%d&B1=A%%F1adir", rng.IntN(100), words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.IntN(1000))
		if rng.IntN(4) == 0 {
			e.Method, e.Body, e.ContentType = "POST", q, "application/x-www-form-urlencoded"
		} else {
			e.Query = q
		}
		evs[i] = e
	}
	return evs
}

func TestStructNames(t *testing.T) {
	dst := make([]float64, len(structNames)+5)
	for i := range dst {
		dst[i] = -7
	}
	d := decodeParts(&Event{}, false)
	structFeatures(dst, &Event{}, &d, nil)
	// structFeatures copies exactly len(structNames) values.
	if dst[len(structNames)] != -7 || dst[len(structNames)-1] == -7 {
		t.Fatal("structural vector length differs from structNames")
	}
}

func TestFeaturizerConsistency(t *testing.T) {
	evs := synthEvents(600, 1)
	cfg := Featurizer{Components: 8, Seed: 3, Workers: 3}
	f, fitted, err := cfg.FitTransform(evs)
	if err != nil {
		t.Fatal(err)
	}
	if fitted.Cols != f.Dim() || f.Dim() != 9 {
		t.Fatalf("dim %d, matrix %d cols", f.Dim(), fitted.Cols)
	}
	// Transforming the fit set one event at a time reproduces the fitted
	// projection: same idf, same scaling, same components — the scaled
	// PCA is applied to what it was fitted on.
	var dst []float64
	for i, e := range evs {
		dst = f.Transform(e, dst)
		for k, v := range dst {
			if math.Abs(v-fitted.At(i, k)) > 1e-9 {
				t.Fatalf("row %d col %d: transform %g, fit %g", i, k, v, fitted.At(i, k))
			}
		}
	}
	// The projection of the (centred) fit set has zero mean, and its
	// column norms are the singular values.
	for k := 0; k < len(f.Singular); k++ {
		var sum, sq float64
		for i := 0; i < fitted.Rows; i++ {
			sum += fitted.At(i, k)
			sq += fitted.At(i, k) * fitted.At(i, k)
		}
		if math.Abs(sum/float64(fitted.Rows)) > 1e-9 {
			t.Errorf("component %d: mean %g on the fit set", k, sum/float64(fitted.Rows))
		}
		if rel := math.Abs(math.Sqrt(sq)-f.Singular[k]) / f.Singular[k]; rel > 1e-6 {
			t.Errorf("component %d: norm %g, singular value %g", k, math.Sqrt(sq), f.Singular[k])
		}
	}
	// Components are orthonormal.
	p := f.Cols()
	for a := 0; a < len(f.Singular); a++ {
		for b := 0; b <= a; b++ {
			var dot float64
			for j := 0; j < p; j++ {
				dot += f.Components[a*p+j] * f.Components[b*p+j]
			}
			want := 0.0
			if a == b {
				want = 1
			}
			if math.Abs(dot-want) > 1e-8 {
				t.Errorf("components %d·%d = %g", a, b, dot)
			}
		}
	}
	// Determinism: same config and data, same model, whatever the workers.
	cfg.Workers = 1
	g, err := cfg.Fit(evs)
	if err != nil {
		t.Fatal(err)
	}
	var b1, b2 bytes.Buffer
	f.WriteTo(&b1)
	g.WriteTo(&b2)
	g.Config.Workers = f.Config.Workers
	b2.Reset()
	g.WriteTo(&b2)
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Error("fitting twice gave different models")
	}
}

func TestFeaturesJSONRoundTrip(t *testing.T) {
	evs := synthEvents(300, 2)
	for _, comps := range []int{5, -1} {
		f, err := Featurizer{Components: comps, NgramMin: 2, NgramMax: 4, NgramBits: 8, TokenBits: 6, HTMLEntities: true}.Fit(evs)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := f.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		g, err := ReadFeatures(&buf)
		if err != nil {
			t.Fatal(err)
		}
		probe := &Event{Method: "GET", Path: "/x.php", Query: "a=%27+union+select+1--&b=<script>", UserAgent: "sqlmap", ClientIP: "8.8.8.8"}
		for _, e := range append(evs[:20:20], probe) {
			a, b := f.Transform(e, nil), g.Transform(e, nil)
			for k := range a {
				if a[k] != b[k] {
					t.Fatalf("components %d: output %d differs after round trip: %g vs %g", comps, k, a[k], b[k])
				}
			}
		}
		if len(g.Names()) != g.Dim() {
			t.Errorf("%d names for dim %d", len(g.Names()), g.Dim())
		}
		// A damaged model is refused.
		g.Scale = g.Scale[1:]
		if g.Validate() == nil {
			t.Error("truncated scale accepted")
		}
	}
}

func TestFeaturizerErrors(t *testing.T) {
	if _, err := (Featurizer{}).Fit(synthEvents(1, 1)); err == nil {
		t.Error("fit on one event accepted")
	}
	if _, err := (Featurizer{NgramMin: 3, NgramMax: 2}).Fit(synthEvents(10, 1)); err == nil {
		t.Error("bad n-gram range accepted")
	}
	// More components than the data's rank: a clear error, not NaN.
	same := make([]*Event, 50)
	for i := range same {
		same[i] = &Event{Path: "/a"}
	}
	if _, err := (Featurizer{Components: 4}).Fit(same); err == nil {
		t.Error("rank-deficient fit accepted")
	}
}

func TestAnomalyStandsOut(t *testing.T) {
	evs := synthEvents(800, 4)
	f, err := Featurizer{Components: 10}.Fit(evs)
	if err != nil {
		t.Fatal(err)
	}
	resid := func(e *Event) float64 { x := f.Transform(e, nil); return x[len(x)-1] }
	var maxNormal float64
	for _, e := range synthEvents(200, 5) {
		maxNormal = math.Max(maxNormal, resid(e))
	}
	for _, q := range []string{"id=1%2527%20union%20select%20password%20from%20users--", "nombre=%3Cscript%3Ealert(1)%3C/script%3E", "id=../../../../etc/passwd%00"} {
		if r := resid(&Event{Method: "GET", Path: "/tienda1/index.jsp", Query: q, UserAgent: "Mozilla/5.0", ClientIP: "10.0.0.1", CookieLen: 43}); r <= maxNormal {
			t.Errorf("%s: residual %g not above every normal one (%g)", q, r, maxNormal)
		}
	}
}
