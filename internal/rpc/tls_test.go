package rpc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpctest"
)

// pki writes a CA and a certificate it signs for name (server or client
// use) into dir, returning the CA file and the cert and key files.
type pki struct {
	dir    string
	caKey  *ecdsa.PrivateKey
	caCert *x509.Certificate
	CAFile string
}

func newPKI(t *testing.T) *pki {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "neutrino test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p := &pki{dir: dir, caKey: key, caCert: cert, CAFile: filepath.Join(dir, "ca.pem")}
	writePEM(t, p.CAFile, "CERTIFICATE", der)
	return p
}

func (p *pki) issue(t *testing.T, name string, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(p.dir, name+".pem"), filepath.Join(p.dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExternalTLS: [nats] tls_ca_file, tls_cert_file and tls_key_file
// reach a nats-server that requires mutual TLS.
func TestExternalTLS(t *testing.T) {
	bin := rpctest.NATSServerBinary()
	if bin == "" {
		rpctest.StartServer(t) // skips, or fails under CI
	}
	p := newPKI(t)
	srvCert, srvKey := p.issue(t, "server", x509.ExtKeyUsageServerAuth)
	cliCert, cliKey := p.issue(t, "client", x509.ExtKeyUsageClientAuth)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(p.dir, "nats.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listen: 127.0.0.1:%d\ntls {\n cert_file: %q\n key_file: %q\n ca_file: %q\n verify: true\n}\n",
		port, srvCert, srvKey, p.CAFile)), 0o600)
	cmd := exec.Command(bin, "-c", conf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 200 {
			t.Fatal("nats-server with TLS did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	url := "nats://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := func(o rpc.Options) (*rpc.Bus, error) {
		o.TransportURL = url
		return rpc.Open(ctx, o)
	}
	b, err := open(rpc.Options{TLSCAFile: p.CAFile, TLSCertFile: cliCert, TLSKeyFile: cliKey})
	if err != nil {
		t.Fatalf("connect with TLS: %v", err)
	}
	defer b.Close()
	if err := b.Serve("q-tls", rpc.Handlers{"ping": func(context.Context, json.RawMessage) (any, error) { return "pong", nil }}); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := b.Call(ctx, "q-tls", "ping", nil, &got); err != nil || got != "pong" {
		t.Fatalf("call over TLS: %q, %v", got, err)
	}

	// Without a client certificate the server refuses the connection.
	short, cancelShort := context.WithTimeout(context.Background(), time.Second)
	defer cancelShort()
	if b, err := rpc.Open(short, rpc.Options{TransportURL: url, TLSCAFile: p.CAFile}); err == nil {
		b.Close()
		t.Error("connected without the client certificate the server requires")
	}
}
