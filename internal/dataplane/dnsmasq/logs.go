package dnsmasq

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// LogKind says what a dnsmasq log line tells the agent.
type LogKind string

// Kinds of log lines the agent acts on; everything else is ignored.
const (
	// LogProblem is a warning or an error: a file dnsmasq cannot read, a
	// bad line in one, a failure to bind or reload.
	LogProblem LogKind = "problem"
	// LogNoAddress is a DHCP request answered "no address available":
	// dnsmasq has no host entry for the client's MAC.
	LogNoAddress LogKind = "no-address"
)

// LogEvent is one log line of interest.
type LogEvent struct {
	Kind LogKind
	// MAC is the client's MAC of a LogNoAddress line.
	MAC string
	// Message is the line without its timestamp and process prefix.
	Message string
}

// problemMarkers are the words of dnsmasq's warning and error messages
// (my_syslog at LOG_WARNING and above: "cannot read %s: %s", "failed to
// load names from %s", "bad dhcp-host at line %d of %s", "duplicate
// dhcp-host IP address", "warning: ...", "error at line ...").
var problemMarkers = []string{"cannot ", "failed", "error", "warning", "bad ", "duplicate", "permission denied",
	"unknown", "illegal", "not found", "no such"}

// benign are warnings dnsmasq gives for the configuration Neutron chooses
// (--no-resolv: DNS answers only from its own files).
var benign = []string{"no upstream servers configured"}

// ParseLogLine classifies one line of a dnsmasq log file. A file line
// reads "<Mon dd hh:mm:ss> dnsmasq[-dhcp][pid]: message".
func ParseLogLine(line string) (LogEvent, bool) {
	msg := line
	if i := strings.Index(line, "]: "); i >= 0 && strings.Contains(line[:i], "dnsmasq") {
		msg = line[i+3:]
	}
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return LogEvent{}, false
	}
	lower := strings.ToLower(msg)
	// "DHCPDISCOVER(ns-1234) fa:16:3e:00:00:01 no address available"
	if strings.HasSuffix(lower, "no address available") && strings.HasPrefix(msg, "DHCP") {
		f := strings.Fields(msg)
		mac := ""
		if len(f) >= 2 {
			mac = strings.ToLower(f[1])
		}
		return LogEvent{Kind: LogNoAddress, MAC: mac, Message: msg}, true
	}
	if strings.HasPrefix(msg, "DHCP") || strings.HasPrefix(msg, "query[") || strings.HasPrefix(msg, "reply ") ||
		strings.HasPrefix(msg, "forwarded ") || strings.HasPrefix(msg, "config ") || strings.HasPrefix(msg, "cached ") {
		// Transactions and queries (--log-dhcp, --log-queries) are not
		// problems, whatever names they carry.
		return LogEvent{}, false
	}
	for _, m := range benign {
		if strings.Contains(lower, m) {
			return LogEvent{}, false
		}
	}
	for _, m := range problemMarkers {
		if strings.Contains(lower, m) {
			return LogEvent{Kind: LogProblem, Message: msg}, true
		}
	}
	return LogEvent{}, false
}

// LogReader follows a dnsmasq log file (--log-facility=<file>) from where
// it last stopped reading.
type LogReader struct {
	Path string
	// MaxSize, when positive, truncates the file once the reader has read
	// that many bytes of it: dnsmasq appends (O_APPEND), so it goes on
	// writing at the new end, and the file never outgrows the bound. The
	// few lines written between the last read and the truncation are
	// lost, which a bound on an unrotated file is worth.
	MaxSize int64
	off     int64
}

// NewLogReader returns a reader of path that starts at the file's current
// end: what was logged before (by an earlier agent) was already reported.
func NewLogReader(path string, maxSize int64) *LogReader {
	r := &LogReader{Path: path, MaxSize: maxSize}
	r.SkipToEnd()
	return r
}

// SkipToEnd makes the next Read start at the file's current end.
func (r *LogReader) SkipToEnd() {
	r.off = 0
	if st, err := os.Stat(r.Path); err == nil {
		r.off = st.Size()
	}
}

// Read returns the events logged since the last Read. A file that shrank
// (rotated or truncated by someone else) is read from its start.
func (r *LogReader) Read() ([]LogEvent, error) {
	f, err := os.Open(r.Path)
	if errors.Is(err, os.ErrNotExist) {
		r.off = 0
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read dnsmasq log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read dnsmasq log: %w", err)
	}
	if st.Size() < r.off {
		r.off = 0
	}
	if _, err := f.Seek(r.off, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read dnsmasq log: %w", err)
	}
	var events []LogEvent
	br := bufio.NewReader(f)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			// A line without its newline is still being written: read it
			// next time, whole.
			break
		}
		r.off += int64(len(line))
		if ev, ok := ParseLogLine(string(bytes.TrimRight(line, "\r\n"))); ok {
			events = append(events, ev)
		}
	}
	if r.MaxSize > 0 && r.off >= r.MaxSize {
		if err := os.Truncate(r.Path, 0); err == nil {
			r.off = 0
		}
	}
	return events, nil
}
