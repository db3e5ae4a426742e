package lab

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestVictimInjectable checks the shop's pages and that its product search
// is injectable, as sqlmap needs it to be.
func TestVictimInjectable(t *testing.T) {
	h, closeDB, err := newVictimHandler()
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range []string{"/", "/about", "/login", "/products", "/static/style.css", "/robots.txt"} {
		if code, _ := get(p); code != 200 {
			t.Errorf("%s: status %d", p, code)
		}
	}
	_, one := get("/products?id=1")
	if !strings.Contains(one, "Trail running shoes") || strings.Contains(one, "Rain jacket") {
		t.Errorf("id=1 does not show exactly product 1")
	}
	_, all := get("/products?id=" + url.QueryEscape("1 OR 1=1"))
	if !strings.Contains(all, "Camp stove") {
		t.Errorf("id=1 OR 1=1 is not injectable")
	}
	_, union := get("/products?id=" + url.QueryEscape("0 UNION SELECT id,username,password_hash,email,0 FROM users"))
	if !strings.Contains(union, "5f4dcc3b5aa765d61d8327deb882cf99") {
		t.Errorf("UNION injection does not reach the users table")
	}
	if code, body := get("/products?id=" + url.QueryEscape("1'")); code != 500 || !strings.Contains(body, "SQLite error") {
		t.Errorf("a broken query gives %d without the database error", code)
	}
}
