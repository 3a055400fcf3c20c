package api_test

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// TestCancelledRequestStopsItsQuery holds a network's row locked from
// outside, so that an update of it waits in PostgreSQL, then gives up on
// the request: the waiting statement must stop within a second, not run
// on for as long as the lock is held.
func TestCancelledRequestStopsItsQuery(t *testing.T) {
	e := pgEnv(t)
	net := e.createNetwork(admin, map[string]any{"name": "locked"})
	id := net["id"].(string)

	db, err := sql.Open("pgx", e.conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	lock, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, "SELECT id FROM networks WHERE id = $1 FOR UPDATE", id); err != nil {
		t.Fatal(err)
	}

	// waiting lists the server's statements stuck on a lock.
	waiting := func() []string {
		rows, err := db.QueryContext(ctx, `SELECT query FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()
			AND state = 'active' AND wait_event_type = 'Lock'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var q string
			if err := rows.Scan(&q); err != nil {
				t.Fatal(err)
			}
			out = append(out, q)
		}
		return out
	}

	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, "PUT", e.url+"/v2.0/networks/"+id,
		strings.NewReader(`{"network": {"name": "renamed"}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()

	deadline := time.Now().Add(10 * time.Second)
	for len(waiting()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the update never waited for the locked row")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the request succeeded while its row was locked")
	}
	cancelled := time.Now()
	for q := waiting(); len(q) > 0; q = waiting() {
		if time.Since(cancelled) > time.Second {
			t.Fatalf("the cancelled request's statement still runs after 1 s: %q", q)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("statement stopped %v after the client gave up", time.Since(cancelled).Round(time.Millisecond))

	// The lock's holder is undisturbed, and the server serves on.
	if err := lock.Commit(); err != nil {
		t.Fatalf("the lock's transaction: %v", err)
	}
	got := e.do(admin, "GET", "/v2.0/networks/"+id, nil).expect(t, 200).obj(t, "network")
	if got["name"] != "locked" {
		t.Errorf("the cancelled update took effect: name %v", got["name"])
	}
}
