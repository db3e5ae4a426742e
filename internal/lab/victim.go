package lab

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver of the vulnerable endpoint
)

// VictimMain is the victim role (`flowguard lab victim --http :80`): a
// small web shop with a few pages and a deliberately SQL-injectable
// product search on an in-memory SQLite database. It only ever runs
// inside the lab's victim namespace.
func VictimMain(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("lab victim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("http", ":80", "HTTP listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	h, closeDB, err := newVictimHandler()
	if err != nil {
		return err
	}
	defer closeDB()
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return nil
}

const victimSchema = `
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, category TEXT, price REAL, stock INTEGER);
CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT, password_hash TEXT, email TEXT);
INSERT INTO products VALUES
 (1,'Trail running shoes','shoes',89.90,12),
 (2,'Rain jacket','clothing',129.00,4),
 (3,'Headlamp 300lm','gear',34.50,31),
 (4,'Water bottle 1l','gear',14.90,88),
 (5,'Merino socks','clothing',19.00,54),
 (6,'Trekking poles','gear',74.00,9),
 (7,'Down vest','clothing',149.00,3),
 (8,'Camp stove','gear',59.00,15);
INSERT INTO users VALUES
 (1,'admin','5f4dcc3b5aa765d61d8327deb882cf99','admin@shop.lab'),
 (2,'alice','e99a18c428cb38d5f260853678922e03','alice@shop.lab'),
 (3,'bob','0d107d09f5bbe40cade3de5c71e9e9b7','bob@shop.lab');
`

// newVictimHandler builds the shop on a fresh in-memory database.
func newVictimHandler() (http.Handler, func() error, error) {
	db, err := sql.Open("sqlite", "file:victim?mode=memory&cache=shared")
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(1) // one connection: the in-memory database lives in it
	if _, err := db.Exec(victimSchema); err != nil {
		db.Close()
		return nil, nil, err
	}
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, status int, title, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<!DOCTYPE html>
<html><head><title>%s - Shop.lab</title><link rel="stylesheet" href="/static/style.css"></head>
<body><header><a href="/">Shop.lab</a> | <a href="/products">Products</a> | <a href="/about">About</a> | <a href="/login">Login</a></header>
<main><h1>%s</h1>
%s
</main><footer>&copy; 2026 Shop.lab outdoor gear</footer><script src="/static/app.js"></script></body></html>
`, html.EscapeString(title), html.EscapeString(title), body)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page(w, http.StatusOK, "Welcome", `<p>Outdoor gear for every season. Browse our <a href="/products">products</a>.</p>
<p>`+strings.Repeat("Free shipping on orders over 50 EUR. New arrivals every week. ", 30)+`</p>`)
	})
	mux.HandleFunc("GET /about", func(w http.ResponseWriter, r *http.Request) {
		page(w, http.StatusOK, "About us", "<p>"+strings.Repeat("We are a small shop run by hikers for hikers. ", 60)+"</p>")
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		page(w, http.StatusOK, "Login", `<form method="post" action="/login"><input name="user"><input name="password" type="password"><button>Login</button></form>`)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		page(w, http.StatusUnauthorized, "Login failed", "<p>Wrong user name or password.</p>")
	})
	mux.HandleFunc("POST /contact", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		page(w, http.StatusOK, "Thank you", "<p>We will answer within two working days.</p>")
	})
	mux.HandleFunc("GET /static/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		io.WriteString(w, strings.Repeat("body{font-family:sans-serif;margin:0 auto;max-width:60em}header,footer{padding:1em;background:#eee}\n", 40))
	})
	mux.HandleFunc("GET /static/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		io.WriteString(w, strings.Repeat("document.querySelectorAll('a').forEach(function(a){a.dataset.seen=1});\n", 60))
	})
	mux.HandleFunc("GET /robots.txt", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "User-agent: *\nDisallow: /admin\n")
	})
	// The vulnerable endpoint: id is pasted into the SQL text, and
	// database errors are shown, as in the classic training targets.
	mux.HandleFunc("GET /products", func(w http.ResponseWriter, r *http.Request) {
		q := "SELECT id, name, category, price, stock FROM products"
		if id := r.URL.Query().Get("id"); id != "" {
			q += " WHERE id = " + id
		} else if c := r.URL.Query().Get("category"); c != "" {
			q += " WHERE category = '" + c + "'"
		}
		rows, err := db.QueryContext(r.Context(), q)
		if err != nil {
			page(w, http.StatusInternalServerError, "Database error", "<pre>SQLite error: "+html.EscapeString(err.Error())+"</pre>")
			return
		}
		defer rows.Close()
		var b strings.Builder
		b.WriteString("<table><tr><th>#</th><th>Product</th><th>Category</th><th>Price</th><th>Stock</th></tr>\n")
		for rows.Next() {
			var id, name, cat, price, stock sql.NullString
			if err := rows.Scan(&id, &name, &cat, &price, &stock); err != nil {
				break
			}
			fmt.Fprintf(&b, "<tr><td>%s</td><td><a href=\"/products?id=%s\">%s</a></td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				html.EscapeString(id.String), html.EscapeString(id.String), html.EscapeString(name.String),
				html.EscapeString(cat.String), html.EscapeString(price.String), html.EscapeString(stock.String))
		}
		if err := rows.Err(); err != nil {
			page(w, http.StatusInternalServerError, "Database error", "<pre>SQLite error: "+html.EscapeString(err.Error())+"</pre>")
			return
		}
		b.WriteString("</table>")
		page(w, http.StatusOK, "Products", b.String())
	})
	return mux, db.Close, nil
}

// errUsage is returned for an unknown hidden role.
var errUsage = errors.New("usage: lab victim|client [flags]")

// ChildMain runs a hidden lab role: args[0] is "victim" or "client", the
// rest its flags. The CLI's hidden `lab victim` and `lab client` commands
// and the package's tests (whose binary stands in for flowguard) use it.
func ChildMain(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "victim":
		return VictimMain(ctx, args[1:], stderr)
	case "client":
		return ClientMain(ctx, args[1:], stderr)
	}
	return errUsage
}
