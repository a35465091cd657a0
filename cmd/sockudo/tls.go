package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// certPollInterval is how often the certificate files are checked for a
// change, so a renewed certificate is served without a restart or SIGHUP.
const certPollInterval = 5 * time.Second

// certReloader serves the key pair at certPath and keyPath through
// tls.Config.GetCertificate and reloads it on demand (SIGHUP) or when a
// file's modification time or size changes. A failed reload keeps the
// certificate in use and logs an error.
type certReloader struct {
	certPath, keyPath string
	log               *slog.Logger

	mu   sync.RWMutex
	cert *tls.Certificate
	// stamp is the files' modification times and sizes at the last
	// load attempt, so a bad pair is not retried every poll.
	stamp string
}

// newCertReloader loads the key pair; it fails if the pair cannot be
// loaded, since the server must not start without a certificate.
func newCertReloader(certPath, keyPath string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certPath: certPath, keyPath: keyPath, log: log}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// reload reads the key pair again; on error the old one stays in use.
func (r *certReloader) reload() error {
	stamp := r.fileStamp()
	cert, err := tls.LoadX509KeyPair(r.certPath, r.keyPath)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stamp = stamp
	if err != nil {
		return fmt.Errorf("ssl.cert_path / ssl.key_path (SSL_CERT_PATH / SSL_KEY_PATH): %w", err)
	}
	r.cert = &cert
	return nil
}

// reloadLogged reloads and logs the outcome.
func (r *certReloader) reloadLogged(why string) {
	if err := r.reload(); err != nil {
		r.log.Error("TLS certificate reload failed; still serving the previous one", "trigger", why, "error", err)
		return
	}
	r.log.Info("TLS certificate reloaded", "trigger", why, "cert", r.certPath)
}

func (r *certReloader) fileStamp() string {
	var s string
	for _, p := range []string{r.certPath, r.keyPath} {
		fi, err := os.Stat(p)
		if err != nil {
			s += "missing;"
			continue
		}
		s += fi.ModTime().String() + "/" + strconv.FormatInt(fi.Size(), 10) + ";"
	}
	return s
}

// GetCertificate implements tls.Config.GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cert, nil
}

// watch reloads on each value of hup and when the files change (checked
// every interval), until ctx is done.
func (r *certReloader) watch(ctx context.Context, hup <-chan os.Signal, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reloadLogged("SIGHUP")
		case <-t.C:
			r.mu.RLock()
			changed := r.fileStamp() != r.stamp
			r.mu.RUnlock()
			if changed {
				r.reloadLogged("file change")
			}
		}
	}
}

// tlsConfig is the listener's TLS configuration, serving r's certificate.
func (r *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

// redirectHandler answers every request with a 308 to the same host and
// path over https on httpsPort, as Sockudo's ssl.redirect_http does.
func redirectHandler(httpsPort int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "missing Host header", http.StatusBadRequest)
			return
		}
		target := "https://" + net.JoinHostPort(host, strconv.Itoa(httpsPort))
		if httpsPort == 443 {
			target = "https://" + host
			if net.ParseIP(host) != nil && net.ParseIP(host).To4() == nil {
				target = "https://[" + host + "]"
			}
		}
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}
