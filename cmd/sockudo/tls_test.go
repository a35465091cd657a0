//go:build unix

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/internal/testenv"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// serial number, and its key, to certPath and keyPath.
func writeCert(t *testing.T, certPath, keyPath string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "sockudo test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Written to a temporary name and renamed, as certbot and friends
	// swap files, so a reader never sees half a file.
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{keyPath, "EC PRIVATE KEY", kder}, {certPath, "CERTIFICATE", der}} {
		tmp := f.path + ".tmp"
		if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f.path); err != nil {
			t.Fatal(err)
		}
	}
}

// servedSerial handshakes with addr and returns the serial number of the
// certificate it presents.
func servedSerial(t *testing.T, addr string) int64 {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func TestTLSReloadOnSIGHUPAndRedirect(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certPath, keyPath, 1)
	logs, addr := startRun(t, localEnv(map[string]string{
		"SSL_ENABLED": "true", "SSL_CERT_PATH": certPath, "SSL_KEY_PATH": keyPath,
		"SSL_REDIRECT_HTTP": "true", "SSL_HTTP_PORT": "0",
	}))
	if !strings.Contains(logs.String(), "tls=true") {
		t.Fatalf("serving without tls:\n%s", logs.String())
	}
	if got := servedSerial(t, addr); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}

	// A renewed pair is served after SIGHUP, without a restart.
	writeCert(t, certPath, keyPath, 2)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, nil, `msg="TLS certificate (reloaded)" trigger=SIGHUP`)
	if got := servedSerial(t, addr); got != 2 {
		t.Fatalf("after SIGHUP: serial %d, want 2", got)
	}

	// A broken pair is refused and the old certificate stays.
	if err := os.WriteFile(certPath, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, nil, `level=(ERROR) msg="TLS certificate reload failed`)
	if got := servedSerial(t, addr); got != 2 {
		t.Fatalf("after a failed reload: serial %d, want 2", got)
	}

	// Plain HTTP on the redirect port is sent to https on the main port.
	raddr := waitLog(t, logs, nil, `msg="serving http redirect" addr=(\S+)`)
	_, port, _ := net.SplitHostPort(addr)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + raddr + "/app/app-key?protocol=7")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "https://127.0.0.1:" + port + "/app/app-key?protocol=7"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Fatalf("redirect: %d %q, want 308 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

func TestCertReloadOnFileChange(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certPath, keyPath, 10)
	var logs testenv.LogBuffer
	r, err := newCertReloader(certPath, keyPath, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.watch(ctx, nil, 10*time.Millisecond)
	serial := func() int64 {
		c, _ := r.GetCertificate(nil)
		x, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return x.SerialNumber.Int64()
	}
	if serial() != 10 {
		t.Fatalf("serial %d", serial())
	}
	// Make sure the modification time moves even on a coarse clock.
	writeCert(t, certPath, keyPath, 11)
	future := time.Now().Add(time.Minute)
	_ = os.Chtimes(certPath, future, future)
	deadline := time.Now().Add(5 * time.Second)
	for serial() != 11 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if serial() != 11 || !strings.Contains(logs.String(), "trigger=\"file change\"") {
		t.Fatalf("serial %d after the files changed; log:\n%s", serial(), logs.String())
	}
	if _, err := newCertReloader(filepath.Join(dir, "none.pem"), keyPath, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "SSL_CERT_PATH") {
		t.Fatalf("missing cert: %v", err)
	}
}

func TestRedirectHandler(t *testing.T) {
	for _, tc := range []struct {
		port       int
		host, path string
		want       string
	}{
		{6001, "example.com", "/app/k?protocol=7", "https://example.com:6001/app/k?protocol=7"},
		{6001, "example.com:80", "/", "https://example.com:6001/"},
		{443, "example.com:80", "/apps/1/events", "https://example.com/apps/1/events"},
		{443, "[::1]:80", "/x", "https://[::1]/x"},
	} {
		rec := &recorder{header: http.Header{}}
		req, _ := http.NewRequest(http.MethodGet, "http://"+tc.host+tc.path, nil)
		redirectHandler(tc.port).ServeHTTP(rec, req)
		if rec.status != http.StatusPermanentRedirect || rec.header.Get("Location") != tc.want {
			t.Errorf("%d %s%s: %d %q, want 308 %q", tc.port, tc.host, tc.path, rec.status, rec.header.Get("Location"), tc.want)
		}
	}
}

type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(s int)           { r.status = s }
