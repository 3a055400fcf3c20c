package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/outbox"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/rpc/rpctest"
	"github.com/neutrino-net/neutrino/internal/store"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

var _ change.Outbox = (*outbox.Outbox)(nil)

type engine struct {
	name   string
	newDSN func(t *testing.T) string
}

var engines = []engine{
	{"sqlite", func(t *testing.T) string { return "sqlite:///" + filepath.Join(t.TempDir(), "neutrino.sqlite") }},
	{"postgresql", func(t *testing.T) string { return pgtest.NewDatabase(t) }},
}

// each runs f on every engine × bus transport.
func each(t *testing.T, f func(t *testing.T, dsn string, tr *rpctest.Transport)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			rpctest.Each(t, func(t *testing.T, tr *rpctest.Transport) { f(t, e.newDSN(t), tr) })
		})
	}
}

func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// run starts a publisher and stops it at the test's end (or by cancel).
func run(t *testing.T, p *outbox.Publisher) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("publisher: %v", err)
		}
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(stop) })
	return func() { once.Do(stop) }
}

// collector serves the fanout topic and collects the seq of each
// port_update it hears.
func collector(t *testing.T, b *rpc.Bus) <-chan int {
	ch := make(chan int, 100000)
	if err := b.Serve(rpcapi.TopicPortUpdate, rpc.Handlers{"port_update": func(_ context.Context, args json.RawMessage) (any, error) {
		var a struct{ Seq int }
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		ch <- a.Seq
		return nil, nil
	}}); err != nil {
		t.Fatal(err)
	}
	return ch
}

func note(seq int) rpcapi.Notification {
	return rpcapi.Notification{Topic: rpcapi.TopicPortUpdate, Method: "port_update", Fanout: true,
		Args: json.RawMessage(fmt.Sprintf(`{"seq":%d}`, seq))}
}

func record(t *testing.T, st *store.Store, ob *outbox.Outbox, seqs ...int) {
	t.Helper()
	ns := make([]rpcapi.Notification, len(seqs))
	for i, s := range seqs {
		ns[i] = note(s)
	}
	if err := st.Write(context.Background(), func(tx *store.Tx) error { return ob.Record(context.Background(), tx, ns...) }); err != nil {
		t.Fatal(err)
	}
}

func expect(t *testing.T, ch <-chan int, want ...int) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-ch:
			if got != w {
				t.Fatalf("received seq %d, want %d", got, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("seq %d not delivered", w)
		}
	}
}

// marker is the seq of the notifications expectNothing sends.
const marker = -1

// expectNothing checks that nothing but a marker, sent now on the bus b
// (after Flush on the buses that might have published, so that the
// server has them first), reaches ch: anything published before arrives
// before the marker, on the one subject and subscription they share.
func expectNothing(t *testing.T, ch <-chan int, b *rpc.Bus, flush ...*rpc.Bus) {
	t.Helper()
	for _, f := range flush {
		if err := f.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(note(marker)); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	expect(t, ch, marker)
}

func emptyOutbox(t *testing.T, st *store.Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := st.OutboxLen(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows left in the outbox", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPublishAfterCommit(t *testing.T) {
	each(t, func(t *testing.T, dsn string, tr *rpctest.Transport) {
		st := openStore(t, dsn)
		srvBus, agentBus := tr.Open(t), tr.Open(t)
		got := collector(t, agentBus)
		ob := outbox.New()
		// Slow polling, so delivery within the test proves the nudge.
		run(t, outbox.NewPublisher(st, srvBus, ob, outbox.Options{Poll: time.Hour}))

		record(t, st, ob, 1, 2)
		record(t, st, ob, 3)
		expect(t, got, 1, 2, 3)
		emptyOutbox(t, st)

		// A rolled-back transaction sends nothing.
		err := st.Write(context.Background(), func(tx *store.Tx) error {
			if err := ob.Record(context.Background(), tx, note(99)); err != nil {
				return err
			}
			return errors.New("refused")
		})
		if err == nil {
			t.Fatal("write did not fail")
		}
		// 4 is the marker: 99, had it been published, would come first.
		record(t, st, ob, 4)
		expect(t, got, 4)
	})
}

// TestCrashBeforePublish: rows committed while no publisher runs (the
// server crashed after commit) go out when the next one starts.
func TestCrashBeforePublish(t *testing.T) {
	each(t, func(t *testing.T, dsn string, tr *rpctest.Transport) {
		st := openStore(t, dsn)
		srvBus, agentBus := tr.Open(t), tr.Open(t)
		got := collector(t, agentBus)
		crashed := outbox.New() // its publisher never ran
		record(t, st, crashed, 1, 2, 3)
		expectNothing(t, got, srvBus)
		if n, _ := st.OutboxLen(context.Background()); n != 3 {
			t.Fatalf("outbox holds %d rows, want 3", n)
		}

		st2 := openStore(t, dsn) // the restarted server
		run(t, outbox.NewPublisher(st2, srvBus, outbox.New(), outbox.Options{Poll: time.Hour}))
		expect(t, got, 1, 2, 3)
		emptyOutbox(t, st2)
		expectNothing(t, got, srvBus)
	})
}

// TestBusDownKeepsRows: a publish the bus does not acknowledge leaves the
// rows for later.
func TestBusDownKeepsRows(t *testing.T) {
	st := openStore(t, "sqlite:///"+filepath.Join(t.TempDir(), "n.sqlite"))
	tr := &rpctest.Transport{Name: "embedded"}
	b := tr.Open(t)
	ob := outbox.New()
	record(t, st, ob, 1)
	b.Close()
	p := outbox.NewPublisher(st, b, ob, outbox.Options{})
	if _, err := p.Drain(context.Background()); err == nil {
		t.Fatal("drain onto a closed bus succeeded")
	}
	if n, _ := st.OutboxLen(context.Background()); n != 1 {
		t.Fatalf("outbox holds %d rows after a failed publish, want 1", n)
	}
}

// TestTwoPublishersOnePostgreSQL: two servers' publishers drain one
// database while writers record; each row is published exactly once.
func TestTwoPublishersOnePostgreSQL(t *testing.T) {
	rpctest.Each(t, func(t *testing.T, tr *rpctest.Transport) {
		dsn := pgtest.NewDatabase(t)
		const writers, perWriter = 8, 250
		st1, st2 := openStore(t, dsn), openStore(t, dsn)
		got := collector(t, tr.Open(t))
		ob1, ob2 := outbox.New(), outbox.New()
		bus1, bus2 := tr.Open(t), tr.Open(t)
		stop1 := run(t, outbox.NewPublisher(st1, bus1, ob1, outbox.Options{Batch: 16, Poll: 5 * time.Millisecond}))
		stop2 := run(t, outbox.NewPublisher(st2, bus2, ob2, outbox.Options{Batch: 16, Poll: 5 * time.Millisecond}))
		var wg sync.WaitGroup
		for w := range writers {
			st, ob := st1, ob1
			if w%2 == 1 {
				st, ob = st2, ob2
			}
			wg.Go(func() {
				for i := range perWriter {
					record(t, st, ob, w*perWriter+i)
				}
			})
		}
		wg.Wait()
		seen := make(map[int]int, writers*perWriter)
		for len(seen) < writers*perWriter {
			select {
			case s := <-got:
				seen[s]++
				if seen[s] > 1 {
					t.Fatalf("seq %d published twice", s)
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("only %d of %d notifications delivered", len(seen), writers*perWriter)
			}
		}
		emptyOutbox(t, st1)
		// Stopped, the publishers send nothing more; what they sent
		// before reaches the server before the marker.
		stop1()
		stop2()
		expectNothing(t, got, bus1, bus1, bus2)
	})
}

// TestSQLiteDrainDoesNotWaitForTheWriter: on SQLite a drain publishes
// while another transaction holds the database's one writer (the rows
// it published are deleted afterwards, in the background), publishes
// nothing twice, and the rows are gone once the writer is free: a
// server started afterwards on the file publishes none of them again.
func TestSQLiteDrainDoesNotWaitForTheWriter(t *testing.T) {
	dsn := "sqlite:///" + filepath.Join(t.TempDir(), "n.sqlite")
	st := openStore(t, dsn)
	tr := &rpctest.Transport{Name: "embedded"}
	srvBus := tr.Open(t)
	got := collector(t, tr.Open(t))
	ob := outbox.New()
	record(t, st, ob, 1, 2)

	held, release := make(chan struct{}), make(chan struct{})
	writer := make(chan error, 1)
	go func() {
		writer <- st.Write(context.Background(), func(*store.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	p := outbox.NewPublisher(st, srvBus, ob, outbox.Options{})
	drained := make(chan error, 1)
	go func() {
		_, err := p.Drain(context.Background())
		drained <- err
	}()
	select {
	case err := <-drained:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("the drain waited for the writer")
	}
	expect(t, got, 1, 2)
	if n, err := p.Drain(context.Background()); err != nil || n != 0 {
		t.Fatalf("second drain: %d published, %v", n, err)
	}
	if n, _ := st.OutboxLen(context.Background()); n != 0 {
		t.Fatalf("outbox counts %d rows awaiting publication, want 0", n)
	}
	close(release)
	if err := <-writer; err != nil {
		t.Fatal(err)
	}
	record(t, st, ob, 3)
	if _, err := p.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	expect(t, got, 3)
	expectNothing(t, got, srvBus)
	// Once the background deletes are done, a restarted server finds
	// nothing to publish.
	st.Close()
	st2 := openStore(t, dsn)
	emptyOutbox(t, st2)
}
