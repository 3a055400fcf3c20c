// Command slowreaders measures what slow clients cost a Neutron API
// server: it opens many connections that each ask for a large list and
// then read the reply at a trickle, and samples the server's resident
// memory (VmRSS, from /proc, so the server must run on this host) before,
// during and after. It prints one JSON line with the numbers.
//
//	go run ./bench/slowreaders -pid $(pgrep -f 'neutrino server') -readers 32 -path /v2.0/ports
//
// Each reader's socket has a small receive buffer and reads rate bytes a
// second, so the server cannot push the reply into the kernel and be done
// with it. A server that times out slow clients (client_socket_timeout)
// closes them early; the tool reports how many were cut off and when.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:9696", "the API's base URL")
	pid := flag.Int("pid", 0, "the server's process id, for its memory")
	readers := flag.Int("readers", 32, "slow readers")
	path := flag.String("path", "/v2.0/ports", "what each reader asks for")
	rate := flag.Int("rate", 1024, "bytes each reader reads a second")
	hold := flag.Duration("hold", 30*time.Second, "how long the readers read before they go")
	settle := flag.Duration("settle", 10*time.Second, "how long to wait after they went")
	project := flag.String("project", "", "X-Project-Id to send (noauth)")
	flag.Parse()
	if *pid == 0 {
		log.Fatal("slowreaders: -pid is required")
	}
	u, err := url.Parse(*endpoint)
	if err != nil {
		log.Fatal(err)
	}

	type sample struct {
		At    float64 `json:"t_s"`
		RSSMB float64 `json:"rss_mb"`
		Open  int64   `json:"open_readers"`
	}
	var (
		samples []sample
		open    atomic.Int64
		cut     atomic.Int64
		read    atomic.Int64
		start   = time.Now()
		stop    = make(chan struct{})
		done    sync.WaitGroup
	)
	rssMB := func() float64 { return float64(rss(*pid)) / 1024 }
	before := rssMB()
	sampler := make(chan struct{})
	go func() {
		defer close(sampler)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			samples = append(samples, sample{time.Since(start).Seconds(), rssMB(), open.Load()})
			select {
			case <-t.C:
			case <-stop:
				return
			}
		}
	}()

	dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	leave := make(chan struct{})
	var cutAfter []float64
	var mu sync.Mutex
	for i := 0; i < *readers; i++ {
		done.Add(1)
		go func() {
			defer done.Done()
			c, err := dialer.Dial("tcp", u.Host)
			if err != nil {
				log.Printf("dial: %v", err)
				return
			}
			defer c.Close()
			open.Add(1)
			defer open.Add(-1)
			req := "GET " + *path + " HTTP/1.1\r\nHost: " + u.Host + "\r\n"
			if *project != "" {
				req += "X-Project-Id: " + *project + "\r\nX-Roles: admin\r\n"
			}
			io.WriteString(c, req+"\r\n")
			br := bufio.NewReaderSize(c, 64)
			buf := make([]byte, *rate)
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-leave:
					return
				case <-t.C:
				}
				n, err := io.ReadFull(br, buf)
				read.Add(int64(n))
				if err != nil {
					cut.Add(1)
					mu.Lock()
					cutAfter = append(cutAfter, time.Since(start).Seconds())
					mu.Unlock()
					return
				}
			}
		}()
	}
	time.Sleep(*hold)
	during := rssMB()
	close(leave)
	done.Wait()
	time.Sleep(*settle)
	after := rssMB()
	close(stop)
	<-sampler

	peak := before
	for _, s := range samples {
		peak = max(peak, s.RSSMB)
	}
	out, _ := json.Marshal(map[string]any{
		"path": *path, "readers": *readers, "rate_bytes_per_s": *rate, "hold_s": hold.Seconds(),
		"rss_before_mb": before, "rss_during_mb": during, "rss_peak_mb": peak, "rss_after_mb": after,
		"readers_cut_off": cut.Load(), "cut_off_at_s": cutAfter, "bytes_read": read.Load(), "samples": samples,
	})
	fmt.Println(string(out))
}

// rss returns a process's resident set in KiB.
func rss(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
