package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSQLiteFileModes: the database directory is traversable (it is
// usually state_path, where unprivileged dnsmasq reads the DHCP agent's
// files) and the database and its WAL private, whatever the umask.
func TestSQLiteFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "state")
	db, _, inMemory, err := openSQLite("/" + filepath.Join(dir, "n.sqlite"))
	if err != nil || inMemory {
		t.Fatal(err, inMemory)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE TABLE t (x int)"); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o755, filepath.Join(dir, "n.sqlite"): 0o600, filepath.Join(dir, "n.sqlite-wal"): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, st.Mode().Perm(), want)
		}
	}
}
